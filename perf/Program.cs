using BenchmarkDotNet.Running;
using Datapath.Benchmarks.Rings;
using Datapath.Benchmarks.Topology;

namespace Datapath.Benchmarks;

/// <summary>
/// `./run.sh bench-micro [--filter *Ring*]`: every BenchmarkDotNet suite in this assembly.
/// `ringperf`: our rings measured like DPDK's ring_perf_autotest (perf/ring-vs-dpdk.sh).
/// `c2c A B`: the round trip of a cache line between CPUs A and B (perf/vhost-rate.sh probes placement with it).
/// </summary>
public static class Program
{
    public static int Main(string[] args)
    {
        if (args.Length > 0 && args[0] == "ringperf") return RingPerf.Run(args[1..]);
        if (args.Length > 0 && args[0] == "c2c") return CoreToCore.Run(args[1..]);
        BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
        return 0;
    }
}
