package main

import (
	"os"
	"testing"
)

func TestParseStatTicks(t *testing.T) {
	// A command name with a space and a parenthesis, as the kernel writes it.
	line := "4242 (vi gil) x) S 1 4242 4242 34816 4242 4194304 1911 0 0 0 137 42 0 0 20 0 9 0 123 1234567 2345 18446744073709551615"
	got, err := parseStatTicks(line)
	if err != nil {
		t.Fatal(err)
	}
	if got != 137+42 {
		t.Fatalf("ticks %d, want %d", got, 137+42)
	}
	if _, err := parseStatTicks("4242 vigil S 1"); err == nil {
		t.Fatal("a line without the command's parentheses was accepted")
	}
}

func TestParseVmRSS(t *testing.T) {
	got, err := parseVmRSS("Name:\tvigil\nVmPeak:\t  900000 kB\nVmRSS:\t   91136 kB\nThreads:\t9\n")
	if err != nil {
		t.Fatal(err)
	}
	if got != 89 {
		t.Fatalf("RSS %v MB, want 89", got)
	}
	if _, err := parseVmRSS("Name:\tvigil\n"); err == nil {
		t.Fatal("a status without VmRSS was accepted")
	}
}

func TestSelfProc(t *testing.T) {
	// The real files of this process parse.
	if _, err := cpuTicks(os.Getpid()); err != nil {
		t.Fatal(err)
	}
	if mb, err := rssMB(os.Getpid()); err != nil || mb <= 0 {
		t.Fatalf("RSS %v MB, %v", mb, err)
	}
}
