package testkit

import (
	"bufio"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"fmt"
	"math/big"
	"net"
	"strings"
	"sync"
	"testing"
	"time"
)

// SMTPServer is a small SMTP server on loopback for tests of mail
// delivery: EHLO, STARTTLS (a self-signed certificate for 127.0.0.1),
// AUTH PLAIN, MAIL, RCPT, DATA, QUIT. MAIL and RCPT need STARTTLS and
// AUTH first.
type SMTPServer struct {
	Addr  string         // host:port
	Roots *x509.CertPool // trusts the server's certificate

	mu   sync.Mutex
	msgs []string
}

// Messages returns each accepted mail: its MAIL and RCPT lines, then the
// DATA as received.
func (s *SMTPServer) Messages() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.msgs...)
}

// StartSMTP starts an SMTPServer accepting user and pass; it stops when
// the test ends.
func StartSMTP(t testing.TB, user, pass string) *SMTPServer {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	s := &SMTPServer{Roots: x509.NewCertPool()}
	s.Roots.AddCert(cert)
	tlsCfg := &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	s.Addr = l.Addr().String()
	go func() {
		for {
			conn, err := l.Accept()
			if err != nil {
				return
			}
			go s.serve(conn, tlsCfg, "\x00"+user+"\x00"+pass)
		}
	}()
	return s
}

func (s *SMTPServer) serve(conn net.Conn, tlsCfg *tls.Config, plain string) {
	defer conn.Close()
	r, w := bufio.NewReader(conn), conn
	say := func(line string) { fmt.Fprintf(w, "%s\r\n", line) }
	say("220 test ESMTP")
	secure, authed := false, false
	var msg strings.Builder
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		line = strings.TrimRight(line, "\r\n")
		cmd := strings.ToUpper(strings.SplitN(line, " ", 2)[0])
		switch {
		case cmd == "EHLO":
			if secure {
				say("250-test\r\n250 AUTH PLAIN")
			} else {
				say("250-test\r\n250 STARTTLS")
			}
		case cmd == "STARTTLS":
			say("220 go ahead")
			tc := tls.Server(conn, tlsCfg)
			if tc.Handshake() != nil {
				return
			}
			conn, secure = tc, true
			r, w = bufio.NewReader(tc), tc
		case cmd == "AUTH":
			f := strings.Fields(line)
			b, _ := base64.StdEncoding.DecodeString(f[len(f)-1])
			if !secure || len(f) != 3 || string(b) != plain {
				say("535 bad credentials")
				continue
			}
			authed = true
			say("235 ok")
		case cmd == "MAIL" || cmd == "RCPT":
			if !authed {
				say("530 auth first")
				continue
			}
			msg.WriteString(line + "\n")
			say("250 ok")
		case cmd == "DATA":
			say("354 go")
			for {
				l, err := r.ReadString('\n')
				if err != nil {
					return
				}
				if l == ".\r\n" {
					break
				}
				msg.WriteString(l)
			}
			s.mu.Lock()
			s.msgs = append(s.msgs, msg.String())
			s.mu.Unlock()
			msg.Reset()
			say("250 queued")
		case cmd == "QUIT":
			say("221 bye")
			return
		default:
			say("250 ok")
		}
	}
}
