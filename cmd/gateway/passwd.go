package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strings"

	"golang.org/x/crypto/bcrypt"
)

// passwdCost is the bcrypt cost of the hashes `gateway passwd` makes:
// about a quarter of a second per sign-in on a server core.
const passwdCost = 12

// maxPasswordLine bounds the line read: bcrypt uses at most 72 bytes.
const maxPasswordLine = 4096

// passwd reads one line (a password) on stdin and prints its bcrypt hash,
// for an agent's password_hash. The password is never echoed.
func passwd(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) > 0 {
		if args[0] == "-h" || args[0] == "-help" || args[0] == "--help" {
			fmt.Fprint(stdout, usage)
			return 0
		}
		fmt.Fprintf(stderr, "passwd: unexpected argument %q\n\n%s", args[0], usage)
		return 2
	}
	line, err := bufio.NewReaderSize(io.LimitReader(stdin, maxPasswordLine), maxPasswordLine).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		fmt.Fprintf(stderr, "passwd: reading standard input: %v\n", err)
		return 1
	}
	password := strings.TrimRight(line, "\r\n")
	if password == "" {
		fmt.Fprintln(stderr, "passwd: the password is empty: write it on standard input, one line")
		return 1
	}
	hash, err := bcrypt.GenerateFromPassword([]byte(password), passwdCost)
	if errors.Is(err, bcrypt.ErrPasswordTooLong) {
		fmt.Fprintln(stderr, "passwd: the password is longer than 72 bytes, the most bcrypt uses")
		return 1
	}
	if err != nil {
		fmt.Fprintf(stderr, "passwd: %v\n", err)
		return 1
	}
	fmt.Fprintln(stdout, string(hash))
	return 0
}
