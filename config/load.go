package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// Problem is one thing wrong with a configuration file.
type Problem struct {
	// File is the name given to Parse, or the path given to Load.
	File string
	// Line is 1-based; 0 when the problem has no line (an empty file).
	Line int
	// Path locates the value, as in channels[0].hours.weekly.mon; empty
	// for a problem with the file as a whole (a YAML syntax error).
	Path    string
	Message string
}

// String formats the problem as file:line: path: message.
func (p Problem) String() string {
	var b strings.Builder
	b.WriteString(p.File)
	if p.Line > 0 {
		b.WriteString(":" + strconv.Itoa(p.Line))
	}
	b.WriteString(": ")
	if p.Path != "" {
		b.WriteString(p.Path + ": ")
	}
	b.WriteString(p.Message)
	return b.String()
}

// Error is every problem found in a configuration file, in line order. No
// message holds the value of a secret.
type Error struct {
	Problems []Problem
}

// Error returns the problems, one per line.
func (e *Error) Error() string {
	lines := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		lines[i] = p.String()
	}
	return strings.Join(lines, "\n")
}

// problems collects the problems of one file.
type problems struct {
	file string
	list []Problem
}

func (p *problems) add(line int, path, format string, args ...any) {
	p.list = append(p.list, Problem{File: p.file, Line: line, Path: path, Message: fmt.Sprintf(format, args...)})
}

// at reports whether a problem was already found at path, so that a value
// that could not be decoded is not also reported as missing.
func (p *problems) at(path string) bool {
	return slices.ContainsFunc(p.list, func(q Problem) bool { return q.Path == path })
}

// under reports whether a problem was already found at path or inside it.
func (p *problems) under(path string) bool {
	return slices.ContainsFunc(p.list, func(q Problem) bool {
		rest, found := strings.CutPrefix(q.Path, path)
		return found && (rest == "" || rest[0] == '.' || rest[0] == '[')
	})
}

// Load reads the configuration file at path; see Parse. A file that cannot
// be read is an error other than *Error.
func Load(path string, getenv func(string) string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	return Parse(path, data, getenv)
}

// Parse decodes, completes with defaults and validates a configuration;
// name is the file name its problems mention. Variables in values are
// looked up with getenv (nil means an empty environment). When anything is
// wrong it returns an *Error listing every problem: YAML syntax, unknown
// keys, wrong types, invalid and missing values.
func Parse(name string, data []byte, getenv func(string) string) (*Config, error) {
	if getenv == nil {
		getenv = func(string) string { return "" }
	}
	p := &problems{file: name}
	root := parseDocument(data, p)
	if len(p.list) > 0 {
		return nil, &Error{Problems: p.list}
	}
	cfg := new(Config)
	d := &decoder{getenv: getenv, problems: p, lines: make(map[string]int), vars: make(map[string][]string)}
	if root != nil {
		d.lines[""] = root.Line
		d.decode(root, reflect.ValueOf(cfg).Elem(), "")
	}
	cfg.applyDefaults()
	v := &validator{problems: p, lines: d.lines, vars: d.vars}
	v.config(cfg)
	if len(p.list) > 0 {
		slices.SortStableFunc(p.list, func(a, b Problem) int { return a.Line - b.Line })
		return nil, &Error{Problems: p.list}
	}
	return cfg, nil
}

// yamlErrorLine matches yaml.v3's syntax errors.
var yamlErrorLine = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// parseDocument returns the top node of the file's one YAML document, nil
// for an empty file, and reports syntax errors and extra documents.
func parseDocument(data []byte, p *problems) *yaml.Node {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc, extra yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if !errors.Is(err, io.EOF) {
			reportSyntaxError(err, p)
		}
		return nil
	}
	if err := dec.Decode(&extra); err == nil {
		p.add(extra.Line, "", "a configuration file holds one YAML document; this is a second one")
	} else if !errors.Is(err, io.EOF) {
		reportSyntaxError(err, p)
	}
	if len(doc.Content) == 0 {
		return nil
	}
	return doc.Content[0]
}

func reportSyntaxError(err error, p *problems) {
	if m := yamlErrorLine.FindStringSubmatch(err.Error()); m != nil {
		line, _ := strconv.Atoi(m[1])
		p.add(line, "", "%s", m[2])
		return
	}
	p.add(0, "", "%s", strings.TrimPrefix(err.Error(), "yaml: "))
}
