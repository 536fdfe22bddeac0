package terminal

import (
	"bytes"
	"math/rand/v2"
	"testing"
)

// TestRingKeepsTheTail writes random-sized chunks and checks that every
// offset still held reads back exactly what was written there.
func TestRingKeepsTheTail(t *testing.T) {
	for _, max := range []int{16, 1000, 64 << 10} {
		r := ring{max: max}
		var all []byte
		rnd := rand.New(rand.NewPCG(1, uint64(max)))
		for range 500 {
			chunk := make([]byte, rnd.IntN(max/3+2))
			for i := range chunk {
				chunk[i] = byte(rnd.IntN(256))
			}
			r.write(chunk)
			all = append(all, chunk...)
			if r.end != int64(len(all)) {
				t.Fatalf("end = %d, want %d", r.end, len(all))
			}
			if held := r.end - r.start; len(r.data) > max || held != min(int64(len(all)), int64(len(r.data))) {
				t.Fatalf("holds %d bytes with max %d after %d written", held, max, len(all))
			}
			off := r.start + int64(rnd.IntN(int(r.end-r.start)+1))
			dst := make([]byte, rnd.IntN(max+1))
			n := r.read(off, dst)
			want := all[off:min(int64(len(all)), off+int64(len(dst)))]
			if !bytes.Equal(dst[:n], want) {
				t.Fatalf("max %d: read(%d, %d) = %d bytes, differs from what was written", max, off, len(dst), n)
			}
		}
	}
}

func TestRingGrowsLazily(t *testing.T) {
	r := ring{max: 256 << 10}
	r.write([]byte("$ "))
	if len(r.data) > initialRing {
		t.Errorf("a prompt allocated %d bytes", len(r.data))
	}
	r.write(make([]byte, 300<<10))
	if len(r.data) != 256<<10 || r.end-r.start != 256<<10 {
		t.Errorf("after a flood: capacity %d, held %d; want both 256 KiB", len(r.data), r.end-r.start)
	}
}
