package interop

// Certificates for the TLS tests, made with crypto/x509 rather than the openssl CLI (as the Java
// and Python suites do): ECDSA P-256 keys take microseconds where RSA takes a process and most of
// a second each, and nothing outside the Go toolchain is needed. Keys are written as unencrypted
// PKCS#8 PEM, which OpenSSL (the shfn broker), Java (Pulsar) and Go all read.

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"
)

// testCA is a certificate authority of its own; file is its certificate (PEM), for a client's or
// a broker's trust store.
type testCA struct {
	cert *x509.Certificate
	key  crypto.Signer
	file string
}

// keyPair is the PEM files of a certificate and its private key.
type keyPair struct{ cert, key string }

// newTestCA makes a CA named cn and writes its certificate to dir/name.pem.
func newTestCA(dir, name, cn string) (*testCA, error) {
	template := &x509.Certificate{
		Subject:               pkix.Name{CommonName: cn},
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
	}
	key, der, err := sign(template, nil, nil)
	if err != nil {
		return nil, err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	file := filepath.Join(dir, name+".pem")
	if err := writePEM(file, "CERTIFICATE", der); err != nil {
		return nil, err
	}
	return &testCA{cert: cert, key: key, file: file}, nil
}

// issueServer signs a certificate for a broker on 127.0.0.1 (and localhost), so that a client
// that checks host names accepts it there.
func (ca *testCA) issueServer(dir, name string) (keyPair, error) {
	return ca.issue(dir, name, &x509.Certificate{
		Subject:     pkix.Name{CommonName: "localhost"},
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		DNSNames:    []string{"localhost"},
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	})
}

// issueClient signs a client certificate whose common name is the role it authenticates as.
func (ca *testCA) issueClient(dir, role string) (keyPair, error) {
	return ca.issue(dir, role, &x509.Certificate{
		Subject:     pkix.Name{CommonName: role},
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	})
}

func (ca *testCA) issue(dir, name string, template *x509.Certificate) (keyPair, error) {
	template.BasicConstraintsValid = true
	key, der, err := sign(template, ca.cert, ca.key)
	if err != nil {
		return keyPair{}, err
	}
	pkcs8, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return keyPair{}, err
	}
	pair := keyPair{cert: filepath.Join(dir, name+".pem"), key: filepath.Join(dir, name+".key")}
	if err := writePEM(pair.cert, "CERTIFICATE", der); err != nil {
		return keyPair{}, err
	}
	return pair, writePEM(pair.key, "PRIVATE KEY", pkcs8)
}

// sign makes a key and a certificate for it from template, signed by parent (self-signed when
// parent is nil), valid from an hour ago (clocks differ a little) for a day.
func sign(template, parent *x509.Certificate, parentKey crypto.Signer) (crypto.Signer, []byte, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	if template.SerialNumber, err = rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127)); err != nil {
		return nil, nil, err
	}
	template.NotBefore = time.Now().Add(-time.Hour)
	template.NotAfter = time.Now().Add(24 * time.Hour)
	if parent == nil {
		parent, parentKey = template, key
	}
	der, err := x509.CreateCertificate(rand.Reader, template, parent, key.Public(), parentKey)
	return key, der, err
}

func writePEM(file, kind string, der []byte) error {
	return os.WriteFile(file, pem.EncodeToMemory(&pem.Block{Type: kind, Bytes: der}), 0o600)
}
