// Command gormsuite is the Go half of scripts/gorm-suite.sh, which runs
// GORM's own test suite through the unifieddb plugin and through plain GORM
// on the same server and compares them. GORM's tests are never copied into
// this repository: the script takes them from a GORM checkout at run time.
//
//	gormsuite cluster -replicas 1 -out DIR -db NAME...   start a throwaway cluster, write DSNs and configurations, run until SIGTERM
//	gormsuite run -bin X.test -dir DIR -out FILE         run the compiled suite under test2json, restarting it after a crash
//	gormsuite summarize -way plain=F -way plugin=F ...   counts per way and the tests that fail only through the plugin
package main

import (
	"context"
	"fmt"
	"os"
)

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	ctx := context.Background()
	var err error
	switch os.Args[1] {
	case "cluster":
		err = clusterCmd(ctx, os.Args[2:])
	case "run":
		err = runCmd(ctx, os.Args[2:])
	case "summarize":
		err = summarizeCmd(os.Args[2:], os.Stdout)
	default:
		usage()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "gormsuite:", err)
		os.Exit(1)
	}
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: gormsuite cluster|run|summarize [flags]  (see scripts/gorm-suite.sh)")
	os.Exit(2)
}
