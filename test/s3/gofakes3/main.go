// A small S3 server for tests: gofakes3 (MIT) on a bolt file, behind a SigV4 check so that
// wrong credentials are refused as a real store refuses them (gofakes3 itself accepts any).
package main

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"sort"
	"strings"
	"syscall"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3bolt"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:0", "listen address")
	db := flag.String("db", "s3.bolt", "bolt file holding every bucket and object")
	flag.Parse()
	accessKey, secretKey := os.Getenv("AWS_ACCESS_KEY_ID"), os.Getenv("AWS_SECRET_ACCESS_KEY")
	if accessKey == "" || secretKey == "" {
		log.Fatal("AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY must be set: they are the only credentials accepted")
	}
	backend, err := s3bolt.NewFile(*db)
	if err != nil {
		log.Fatalf("open %s: %v", *db, err)
	}
	faker := gofakes3.New(backend, gofakes3.WithAutoBucket(false))
	listener, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatal(err)
	}
	log.Printf("listening on %s", listener.Addr())
	server := &http.Server{Handler: checkSignature(accessKey, secretKey, faker.Server())}
	go func() {
		stop := make(chan os.Signal, 1)
		signal.Notify(stop, syscall.SIGTERM, syscall.SIGINT)
		<-stop
		server.Close()
	}()
	if err := server.Serve(listener); err != http.ErrServerClosed {
		log.Fatal(err)
	}
}

func s3Error(w http.ResponseWriter, status int, code, message string) {
	w.Header().Set("Content-Type", "application/xml")
	w.WriteHeader(status)
	fmt.Fprintf(w, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>%s</Code><Message>%s</Message></Error>`, code, message)
}

// checkSignature verifies AWS Signature Version 4 header authentication: the canonical request
// is rebuilt from the headers the client says it signed, the payload hash taken as declared.
func checkSignature(accessKey, secretKey string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		auth := r.Header.Get("Authorization")
		const scheme = "AWS4-HMAC-SHA256 "
		if !strings.HasPrefix(auth, scheme) {
			s3Error(w, http.StatusForbidden, "AccessDenied", "Anonymous access is forbidden; sign requests with AWS Signature Version 4.")
			return
		}
		fields := map[string]string{}
		for _, part := range strings.Split(strings.TrimPrefix(auth, scheme), ",") {
			if k, v, ok := strings.Cut(strings.TrimSpace(part), "="); ok {
				fields[k] = v
			}
		}
		scope := strings.Split(fields["Credential"], "/") // AKID/date/region/service/aws4_request
		if len(scope) != 5 {
			s3Error(w, http.StatusBadRequest, "AuthorizationHeaderMalformed", "The authorization header is malformed.")
			return
		}
		if scope[0] != accessKey {
			s3Error(w, http.StatusForbidden, "InvalidAccessKeyId", "The AWS Access Key Id you provided does not exist in our records.")
			return
		}
		signed := strings.Split(fields["SignedHeaders"], ";")
		var headers strings.Builder
		for _, h := range signed {
			value := r.Header.Get(h)
			if h == "host" {
				value = r.Host
			}
			headers.WriteString(h + ":" + strings.Join(strings.Fields(value), " ") + "\n")
		}
		rawPath, rawQuery, _ := strings.Cut(r.RequestURI, "?")
		canonical := strings.Join([]string{
			r.Method, rawPath, canonicalQuery(rawQuery), headers.String(), fields["SignedHeaders"], r.Header.Get("X-Amz-Content-Sha256"),
		}, "\n")
		sum := sha256.Sum256([]byte(canonical))
		toSign := strings.Join([]string{"AWS4-HMAC-SHA256", r.Header.Get("X-Amz-Date"), strings.Join(scope[1:], "/"), hex.EncodeToString(sum[:])}, "\n")
		key := []byte("AWS4" + secretKey)
		for _, s := range scope[1:] {
			key = hmacSHA256(key, s)
		}
		if !hmac.Equal([]byte(hex.EncodeToString(hmacSHA256(key, toSign))), []byte(fields["Signature"])) {
			s3Error(w, http.StatusForbidden, "SignatureDoesNotMatch", "The request signature we calculated does not match the signature you provided. Check your key and signing method.")
			return
		}
		next.ServeHTTP(w, r)
	})
}

func hmacSHA256(key []byte, data string) []byte {
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(data))
	return mac.Sum(nil)
}

func canonicalQuery(raw string) string {
	values, _ := url.ParseQuery(raw)
	var pairs []string
	for k, vs := range values {
		for _, v := range vs {
			pairs = append(pairs, awsEscape(k)+"="+awsEscape(v))
		}
	}
	sort.Strings(pairs)
	return strings.Join(pairs, "&")
}

// awsEscape percent-encodes everything but the unreserved characters, as SigV4 requires.
func awsEscape(s string) string {
	var b strings.Builder
	for _, c := range []byte(s) {
		if 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.' || c == '~' {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}
