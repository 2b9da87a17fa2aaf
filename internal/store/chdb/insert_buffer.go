package chdb

// insertBuffers keeps the buffers that InsertArrow encodes Arrow streams
// into. A staging batch of 50,000 transactions is about 30 MiB. Growing a
// new buffer to that size for every batch cost about 4 % of the CPU of a
// file load: copying and zeroing as it doubled, then collecting it. The
// sync.Pool used before lost its buffers at each garbage collection, about
// once per batch, so a channel keeps them instead. Its capacity (one buffer
// per connection of the default pool) bounds the memory kept.
var insertBuffers = make(chan []byte, 2)

// maxPooledBuffer is the largest buffer kept in insertBuffers, so one
// unusually large insert does not stay in memory.
const maxPooledBuffer = 256 << 20

// getInsertBuffer returns an empty buffer, one kept from an earlier insert
// when there is one.
func getInsertBuffer() []byte {
	select {
	case buf := <-insertBuffers:
		return buf[:0]
	default:
		return nil
	}
}

// putInsertBuffer keeps buf for reuse once chDB has finished reading it.
func putInsertBuffer(buf []byte) {
	if cap(buf) > maxPooledBuffer {
		return
	}
	select {
	case insertBuffers <- buf[:0]:
	default:
	}
}
