package ingest

// Generators of the file benchmark, for the benchmarks of package
// ingest_test that import packages which import ingest.
var (
	WriteTransactionLines = writeTransactionLines
	FeedAccount           = feedAccount
	FeedAccounts          = feedAccounts
	VmHWM                 = vmHWM
	WatchHeap             = watchHeap
	CPUTime               = cpuTime
)
