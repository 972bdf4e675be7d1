package httpapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"reflect"

	"github.com/labstack/echo/v4"
)

// decodeJSON reads a JSON request body of at most limit bytes into v. A
// bad body is a 400 whose message says what is wrong in the client's
// terms (the field and the JSON it wants, never a Go type), then the shape
// wanted (want, e.g. `{"text": "..."}`).
func decodeJSON(c echo.Context, limit int64, v any, want string) error {
	err := json.NewDecoder(http.MaxBytesReader(c.Response(), c.Request().Body, limit)).Decode(v)
	if err == nil {
		return nil
	}
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		return errBadRequest(fmt.Sprintf("body exceeds %d KiB; want %s", limit>>10, want))
	}
	return errBadRequest(jsonProblem(err) + "; want " + want)
}

// decodeProblem is err's text, except that a JSON decoding error is
// described as jsonProblem does.
func decodeProblem(err error) string {
	var typeErr *json.UnmarshalTypeError
	var syntaxErr *json.SyntaxError
	if errors.As(err, &typeErr) || errors.As(err, &syntaxErr) {
		return jsonProblem(err)
	}
	return err.Error()
}

// jsonProblem describes a JSON decoding error without Go's names.
func jsonProblem(err error) string {
	var typeErr *json.UnmarshalTypeError
	var syntaxErr *json.SyntaxError
	switch {
	case errors.Is(err, io.EOF):
		return "body is empty"
	case errors.Is(err, io.ErrUnexpectedEOF):
		return "body is not complete JSON"
	case errors.As(err, &typeErr):
		if typeErr.Field == "" {
			return fmt.Sprintf("body must be %s, not %s", jsonKind(typeErr.Type), jsonValue(typeErr.Value))
		}
		return fmt.Sprintf("%s must be %s, not %s", typeErr.Field, jsonKind(typeErr.Type), jsonValue(typeErr.Value))
	case errors.As(err, &syntaxErr):
		return fmt.Sprintf("body is not JSON (error at byte %d)", syntaxErr.Offset)
	}
	return "body is not JSON"
}

// jsonKind names the JSON a Go type decodes from.
func jsonKind(t reflect.Type) string {
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == nil {
		return "a value"
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "an integer"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Slice, reflect.Array:
		return "an array"
	case reflect.Struct, reflect.Map:
		return "an object"
	}
	return "another kind of value"
}

// jsonValue names the JSON the decoder found: UnmarshalTypeError.Value is
// "string", "bool", "array", "object", or "number" (with the number's text
// when it does not fit).
func jsonValue(v string) string {
	switch v {
	case "string":
		return "a string"
	case "object", "array":
		return "an " + v
	case "bool":
		return "true or false"
	}
	return "a number"
}
