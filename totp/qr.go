package totp

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/png"

	"github.com/boombuler/barcode/qr"
)

// Bounds of QRPNG's size, in pixels.
const (
	// MaxQRSize is the largest image QRPNG draws.
	MaxQRSize = 2048
	// quietZone is the white border, in modules, that QR readers need
	// around a code (ISO/IEC 18004).
	quietZone = 4
)

// QRPNG returns a PNG image, size by size pixels, of a QR code holding uri
// (from URI), for the user to scan with an authenticator app. The code has
// error-correction level M, a quiet zone of at least 4 modules, and
// modules of a whole number of pixels, centred; the image is black on white
// with a 1-bit palette. It returns an error for an empty uri, one too long
// for a QR code, a size above MaxQRSize, or a size too small to draw the code
// with one pixel per module and its quiet zone (the error names the
// minimum: an enrolment URI of 110 to 170 characters needs 53 to 61
// pixels; 256 or more scans well from a screen).
//
// The image shows the secret: serve it only to the account's owner, during
// enrolment, with caching forbidden.
func QRPNG(uri string, size int) ([]byte, error) {
	if uri == "" {
		return nil, errors.New("totp: empty URI for QR code")
	}
	if size < 1 || size > MaxQRSize {
		return nil, fmt.Errorf("totp: QR size %d outside 1 to %d pixels", size, MaxQRSize)
	}
	code, err := qr.Encode(uri, qr.M, qr.Auto)
	if err != nil {
		return nil, fmt.Errorf("totp: encoding QR code: %w", err)
	}
	n := code.Bounds().Dx() // modules per side
	scale := size / (n + 2*quietZone)
	if scale < 1 {
		return nil, fmt.Errorf("totp: QR size %d too small for a code of %d modules; need at least %d pixels",
			size, n, n+2*quietZone)
	}
	off := (size - n*scale) / 2
	img := image.NewPaletted(image.Rect(0, 0, size, size), color.Palette{color.White, color.Black})
	origin := code.Bounds().Min
	for y := range n {
		for x := range n {
			if color.GrayModel.Convert(code.At(origin.X+x, origin.Y+y)).(color.Gray).Y >= 128 {
				continue // a light module
			}
			for py := off + y*scale; py < off+(y+1)*scale; py++ {
				row := img.Pix[py*img.Stride:]
				for px := off + x*scale; px < off+(x+1)*scale; px++ {
					row[px] = 1
				}
			}
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return nil, fmt.Errorf("totp: encoding PNG: %w", err)
	}
	return buf.Bytes(), nil
}
