package totp_test

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"strings"
	"testing"

	"github.com/makiuchi-d/gozxing"
	zxqr "github.com/makiuchi-d/gozxing/qrcode"

	"github.com/vigil-dev/vigil/totp"
)

// decodeQR reads the text of the QR code in img with an independent decoder
// (gozxing, a port of ZXing), as a phone's camera would.
func decodeQR(tb testing.TB, img image.Image) string {
	tb.Helper()
	bmp, err := gozxing.NewBinaryBitmapFromImage(img)
	if err != nil {
		tb.Fatalf("bitmap: %v", err)
	}
	res, err := zxqr.NewQRCodeReader().Decode(bmp, map[gozxing.DecodeHintType]any{gozxing.DecodeHintType_PURE_BARCODE: false})
	if err != nil {
		tb.Fatalf("QR decode: %v", err)
	}
	return res.GetText()
}

func TestQRPNG(t *testing.T) {
	uri := totp.URI("vigil", "alice@example.com", totp.GenerateSecret())
	long := totp.URI(strings.Repeat("Issuer ", 10), strings.Repeat("a", 60)+"@example.com", totp.GenerateSecret())
	for _, tc := range []struct {
		uri  string
		size int
	}{
		{uri, 256}, {uri, 200}, {uri, 301}, {uri, 512}, {uri, 1000}, {long, 400},
	} {
		b, err := totp.QRPNG(tc.uri, tc.size)
		if err != nil {
			t.Fatalf("QRPNG(size %d): %v", tc.size, err)
		}
		if !bytes.HasPrefix(b, []byte("\x89PNG\r\n\x1a\n")) {
			t.Fatalf("not a PNG signature")
		}
		img, err := png.Decode(bytes.NewReader(b))
		if err != nil {
			t.Fatalf("png.Decode: %v", err)
		}
		if r := img.Bounds(); r.Dx() != tc.size || r.Dy() != tc.size {
			t.Fatalf("image is %v, want %dx%d", r, tc.size, tc.size)
		}
		// Only black and white, and a white quiet zone along every edge.
		for y := 0; y < tc.size; y++ {
			for x := 0; x < tc.size; x++ {
				g := color.GrayModel.Convert(img.At(x, y)).(color.Gray).Y
				if g != 0 && g != 255 {
					t.Fatalf("pixel (%d,%d) is grey %d", x, y, g)
				}
				edge := x < 4 || y < 4 || x >= tc.size-4 || y >= tc.size-4
				if edge && g != 255 {
					t.Fatalf("pixel (%d,%d) in the border is black", x, y)
				}
			}
		}
		if got := decodeQR(t, img); got != tc.uri {
			t.Fatalf("QR holds %q, want %q", got, tc.uri)
		}
	}
}

func TestQRPNGErrors(t *testing.T) {
	uri := totp.URI("vigil", "alice", totp.GenerateSecret())
	for _, tc := range []struct {
		name, uri string
		size      int
		err       string
	}{
		{"empty uri", "", 256, "empty URI"},
		{"zero size", uri, 0, "outside"},
		{"negative size", uri, -5, "outside"},
		{"huge size", uri, totp.MaxQRSize + 1, "outside"},
		{"too small", uri, 20, "too small"},
		{"too long", strings.Repeat("x", 5000), 1000, "encoding QR code"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, err := totp.QRPNG(tc.uri, tc.size)
			if err == nil || b != nil {
				t.Fatalf("QRPNG succeeded")
			}
			if !strings.Contains(err.Error(), tc.err) {
				t.Fatalf("err = %v, want it to mention %q", err, tc.err)
			}
		})
	}
	// The smallest size the error names works, and decodes.
	_, err := totp.QRPNG(uri, 20)
	var min int
	if _, scanErr := fmt.Sscanf(err.Error()[strings.Index(err.Error(), "at least"):], "at least %d pixels", &min); scanErr != nil {
		t.Fatalf("no minimum in %q: %v", err, scanErr)
	}
	for _, size := range []int{min, totp.MaxQRSize} {
		b, err := totp.QRPNG(uri, size)
		if err != nil {
			t.Fatalf("size %d: %v", size, err)
		}
		img, err := png.Decode(bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		if got := decodeQR(t, img); got != uri {
			t.Fatalf("size %d: QR holds %q", size, got)
		}
	}
	if _, err := totp.QRPNG(uri, min-1); err == nil {
		t.Fatalf("size %d below the named minimum %d accepted", min-1, min)
	}
}
