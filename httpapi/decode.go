package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/vigil-dev/vigil"
)

// MaxBodyBytes is the largest request body accepted.
const MaxBodyBytes = 1 << 20

// decode reads a JSON object from r's body into dst, strictly: the body
// must be application/json, at most MaxBodyBytes, valid UTF-8, one object,
// with no unknown fields and no trailing data. Each failure is an EINVALID
// (or ETOOLARGE, EUNSUPPORTED) error with a message that says what is wrong.
func decode(r *http.Request, dst any) error {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || (mt != "application/json" && !strings.HasSuffix(mt, "+json")) {
			return vigil.Errorf(vigil.EUNSUPPORTED, "request body must be application/json")
		}
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, MaxBodyBytes+1))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return vigil.Errorf(vigil.ETOOLARGE, "request body must be at most %d bytes", MaxBodyBytes)
		}
		return vigil.Errorf(vigil.EINVALID, "request body could not be read")
	}
	if len(body) > MaxBodyBytes {
		return vigil.Errorf(vigil.ETOOLARGE, "request body must be at most %d bytes", MaxBodyBytes)
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return vigil.Errorf(vigil.EINVALID, "request body is empty; expected a JSON object")
	}
	if !utf8.Valid(body) {
		return vigil.Errorf(vigil.EINVALID, "request body is not valid UTF-8")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		return jsonError(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return vigil.Errorf(vigil.EINVALID, "request body must hold a single JSON object")
	}
	return nil
}

func jsonError(err error) error {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		return vigil.Errorf(vigil.EINVALID, "malformed JSON at byte %d", se.Offset)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return vigil.Errorf(vigil.EINVALID, "malformed JSON: unexpected end of body")
	case errors.As(err, &te):
		if te.Field != "" {
			return vigil.Errorf(vigil.EINVALID, "field %q must be %s", te.Field, jsonKind(te.Type.Kind().String()))
		}
		return vigil.Errorf(vigil.EINVALID, "request body must be a JSON object")
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		return vigil.Errorf(vigil.EINVALID, "unknown field %s", strings.TrimPrefix(err.Error(), "json: unknown field "))
	}
	return vigil.Errorf(vigil.EINVALID, "malformed JSON")
}

func jsonKind(k string) string {
	switch k {
	case "string":
		return "a string"
	case "bool":
		return "a boolean"
	case "struct", "map":
		return "an object"
	case "slice", "array":
		return "an array"
	}
	if strings.HasPrefix(k, "int") || strings.HasPrefix(k, "uint") || strings.HasPrefix(k, "float") {
		return "a number"
	}
	return fmt.Sprintf("of type %s", k)
}
