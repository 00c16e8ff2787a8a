package daemon

import (
	"net"
	"testing"
)

func TestListenPort(t *testing.T) {
	tests := []struct {
		line string
		port int
		ok   bool
	}{
		{"   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1 1 0000000000000000 100 0 0 10 0", 8080, true},
		{"   1: 0100007F:1F90 0100007F:D2F0 01 00000000:00000000 00:00000000 00000000     0        0 2 1 0000000000000000 20 4 30 10 -1", 0, false},
		{"   2: 00000000000000000000000001000000:0016 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 3 1 0000000000000000 100 0 0 10 0", 22, true},
		{"  sl  local_address rem_address   st tx_queue rx_queue", 0, false},
	}
	for _, tt := range tests {
		p, ok := listenPort(tt.line)
		if p != tt.port || ok != tt.ok {
			t.Errorf("listenPort(%q) = %d, %v; want %d, %v", tt.line, p, ok, tt.port, tt.ok)
		}
	}
}

func TestListeningSeesARealSocket(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	got, err := Listening([]int{port})
	if err != nil || len(got) != 1 || got[0] != port {
		t.Fatalf("Listening(%d) = %v, %v while listening", port, got, err)
	}
	l.Close()
	if got, _ := Listening([]int{port}); len(got) != 0 {
		t.Fatalf("Listening(%d) = %v after close", port, got)
	}
}
