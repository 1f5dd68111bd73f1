// Wrapper module pinning gofakes3 (an S3-compatible server in Go) for bench/schema_groups.sh:
// a loopback S3 server that serves requests concurrently, so the benchmark measures the
// clients rather than moto's single Python process. Built by bench/peers/build.sh gofakes3.
module weir.dev/bench/peers/gofakes3

go 1.26

require (
	github.com/johannesboyne/gofakes3 v1.2.0 // indirect
	github.com/ryszard/goskiplist v0.0.0-20150312221310-2dfbae5fcf46 // indirect
	github.com/spf13/afero v1.2.1 // indirect
	go.etcd.io/bbolt v1.3.5 // indirect
	go.shabbyrobe.org/gocovmerge v0.0.0-20230507111327-fa4f82cfbf4d // indirect
	golang.org/x/sys v0.7.0 // indirect
	golang.org/x/text v0.9.0 // indirect
	golang.org/x/tools v0.8.0 // indirect
	gopkg.in/mgo.v2 v2.0.0-20180705113604-9856a29383ce // indirect
)
