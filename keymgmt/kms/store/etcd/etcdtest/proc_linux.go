package etcdtest

import (
	"os/exec"
	"syscall"
)

// dieWithParent has the kernel kill etcd if the test process dies without running Cleanup
// (a panic or a test timeout), so no etcd outlives its test.
func dieWithParent(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
