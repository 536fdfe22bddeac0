package terminal

// ring holds the most recent output, addressed by absolute byte offset
// since the shell started. It starts small and grows to max, so an idle
// terminal costs only what it has printed.
type ring struct {
	data       []byte // len(data) is the current capacity; byte o lives at o % len(data)
	max        int
	start, end int64 // offsets of the oldest byte held and of the next byte to come
}

const initialRing = 1 << 10

func (r *ring) write(p []byte) {
	if len(p) > r.max {
		// Only the tail can be kept; account for the rest as passed.
		skip := len(p) - r.max
		r.end += int64(skip)
		r.start = r.end
		p = p[skip:]
	}
	if held := int(r.end - r.start); held+len(p) > len(r.data) && len(r.data) < r.max {
		r.grow(min(r.max, max(2*len(r.data), held+len(p), initialRing)))
	}
	for len(p) > 0 {
		i := int(r.end % int64(len(r.data)))
		n := copy(r.data[i:], p)
		p = p[n:]
		r.end += int64(n)
	}
	if r.end-r.start > int64(len(r.data)) {
		r.start = r.end - int64(len(r.data))
	}
}

func (r *ring) grow(size int) {
	data := make([]byte, size)
	for o := r.start; o < r.end; {
		i := int(o % int64(len(r.data)))
		n := int(min(r.end-o, int64(len(r.data)-i)))
		j := int(o % int64(size))
		// The new ring is larger, so a run that is contiguous in the old
		// ring may still wrap in the new one.
		m := copy(data[j:], r.data[i:i+n])
		copy(data, r.data[i+m:i+n])
		o += int64(n)
	}
	r.data = data
}

// read copies bytes from offset off into dst. off must be within
// [start, end].
func (r *ring) read(off int64, dst []byte) int {
	n := 0
	for n < len(dst) && off < r.end {
		i := int(off % int64(len(r.data)))
		c := copy(dst[n:], r.data[i:min(len(r.data), i+int(r.end-off))])
		n += c
		off += int64(c)
	}
	return n
}
