#!/usr/bin/env node
// Bin shim: exists before the build, so npm can link it at install time.
import "../dist/cli.js";
