"""The local Kubernetes control plane used by the tests, the demo and the benchmarks."""
