package chdb

import (
	"bytes"
	"sync"
)

// arrowBuffers keeps the buffers that InsertArrow encodes Arrow streams
// into. A staging batch of 50,000 transactions is about 30 MiB, and growing
// a new buffer to that size for every batch cost about 4 % of the CPU of a
// file load (copying and zeroing as it doubled, then collecting it).
var arrowBuffers = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// maxPooledBuffer is the largest buffer put back into arrowBuffers, so one
// unusually large insert does not stay in memory.
const maxPooledBuffer = 256 << 20

func getArrowBuffer() *bytes.Buffer {
	buf := arrowBuffers.Get().(*bytes.Buffer)
	buf.Reset()
	return buf
}

// putArrowBuffer returns buf for reuse; chDB has finished reading it.
func putArrowBuffer(buf *bytes.Buffer) {
	if buf.Cap() <= maxPooledBuffer {
		arrowBuffers.Put(buf)
	}
}
