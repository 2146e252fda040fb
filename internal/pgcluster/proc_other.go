//go:build !linux

package pgcluster

import (
	"os"
	"syscall"
	"time"
)

// The cluster's process control needs Linux (Pdeathsig, /proc, process
// groups): here Start fails with ErrNeedsLinux, and these stand-ins are
// never reached.

type credential = *struct{}

const (
	sigKill = syscall.Signal(9)
	sigStop = syscall.Signal(19)
	sigCont = syscall.Signal(18)
)

func supported() error { return ErrNeedsLinux }

func lookupRunAs() (runAs, error) { return runAs{}, ErrNeedsLinux }

func (r runAs) sysProcAttr() *syscall.SysProcAttr      { return nil }
func (r runAs) detachedProcAttr() *syscall.SysProcAttr { return nil }

func killGroup(int) error                       { return ErrNeedsLinux }
func continueGroup(int) error                   { return ErrNeedsLinux }
func interrupt(int) error                       { return ErrNeedsLinux }
func procState(int) (string, int, string, bool) { return "", 0, "", false }
func pidAlive(int) bool                         { return false }
func groupAlive(int) bool                       { return false }
func waitGroupGone(int, time.Duration) error    { return nil }
func children(int) []int                        { return nil }
func signalTree(int, syscall.Signal) error      { return ErrNeedsLinux }
func waitPidsGone([]int, time.Duration) error   { return nil }
func statOwner(os.FileInfo) (uid, gid int)      { return -1, -1 }
