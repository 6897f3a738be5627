import * as tf from "@tensorflow/tfjs";
import type { CheckpointBackend } from "../checkpoint/backend.js";

export const exportDirName = "model";

/**
 * Writes the trained model in the tfjs layers format (model.json + weights.bin, loadable with
 * tf.loadLayersModel) through our own handler: the built-in file:// handler is not atomic. It
 * goes where the checkpoints go (model/ in the directory or under the bucket prefix), committed
 * the same way, model.json last.
 */
export async function exportModel(model: tf.LayersModel, backend: CheckpointBackend, beforeVisible?: () => Promise<void>): Promise<string> {
  let path = "";
  await model.save(
    tf.io.withSaveHandler(async (artifacts) => {
      const weights = new Uint8Array(tf.io.CompositeArrayBuffer.join(artifacts.weightData));
      const modelJson = {
        format: "layers-model",
        generatedBy: `TensorFlow.js tfjs-layers v${tf.version_layers}`,
        convertedBy: null,
        modelTopology: artifacts.modelTopology,
        weightsManifest: [{ paths: ["weights.bin"], weights: artifacts.weightSpecs }],
      };
      const committed = await backend.commit({
        name: exportDirName,
        files: [{ name: "weights.bin", chunks: [weights] }],
        manifest: () => ({ name: "model.json", bytes: Buffer.from(JSON.stringify(modelJson)) }),
        beforeVisible,
      });
      path = committed.path;
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: "JSON", weightDataBytes: weights.byteLength } };
    }),
  );
  return path;
}
