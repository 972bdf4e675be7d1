package main

import (
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"
)

func TestPasswd(t *testing.T) {
	var out, errOut strings.Builder
	if code := passwd(nil, strings.NewReader("correct horse battery\r\nnext line\n"), &out, &errOut); code != 0 {
		t.Fatalf("passwd = %d, stderr %q", code, errOut.String())
	}
	hash := strings.TrimSuffix(out.String(), "\n")
	if err := bcrypt.CompareHashAndPassword([]byte(hash), []byte("correct horse battery")); err != nil {
		t.Errorf("the hash %q does not match the first line: %v", hash, err)
	}
	if cost, err := bcrypt.Cost([]byte(hash)); err != nil || cost != 12 {
		t.Errorf("cost = %d, %v; want 12", cost, err)
	}
	if strings.Contains(out.String()+errOut.String(), "correct horse") {
		t.Error("the password is printed")
	}
}

func TestPasswdRefuses(t *testing.T) {
	tests := []struct {
		name  string
		args  []string
		input string
		code  int
		want  string
	}{
		{"empty", nil, "\n", 1, "the password is empty"},
		{"no input", nil, "", 1, "the password is empty"},
		{"too long", nil, strings.Repeat("x", 73) + "\n", 1, "longer than 72 bytes"},
		{"an argument", []string{"secret"}, "", 2, `unexpected argument "secret"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errOut strings.Builder
			code := passwd(tt.args, strings.NewReader(tt.input), &out, &errOut)
			if code != tt.code || !strings.Contains(errOut.String(), tt.want) || out.Len() != 0 {
				t.Errorf("passwd = %d, stdout %q, stderr %q; want %d and %q", code, out.String(), errOut.String(), tt.code, tt.want)
			}
		})
	}
	if code, stdout, _ := runMain("passwd", "-h"); code != 0 || !strings.Contains(stdout, "passwd") {
		t.Errorf("passwd -h = %d %q", code, stdout)
	}
}
