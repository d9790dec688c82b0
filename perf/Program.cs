using BenchmarkDotNet.Running;

namespace Datapath.Benchmarks;

/// <summary>`./run.sh bench-micro [--filter *Ring*]`: every BenchmarkDotNet suite in this assembly.</summary>
public static class Program
{
    public static void Main(string[] args) => BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
}
