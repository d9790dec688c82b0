using BenchmarkDotNet.Attributes;
using Datapath.Engine.Net;

namespace Datapath.Benchmarks.Net;

/// <summary>
/// The per-packet header work of the forwarding modes: the Internet checksum (RFC 1071) over an IPv4
/// header and over a whole 1480-byte UDP datagram (csum mode, txonly's templates), and macswap's
/// address swap, per call. `./run.sh bench-micro --filter '*NetBenchmarks*'`
/// </summary>
[SimpleJob(launchCount: 1, warmupCount: 3, iterationCount: 5)]
public unsafe class NetBenchmarks
{
    readonly byte[] _frame = new byte[1514];

    [GlobalSetup]
    public void Setup()
    {
        new Random(7).NextBytes(_frame);
        _frame[14] = 0x45;
    }

    [Benchmark]
    public ushort Ipv4HeaderChecksum()
    {
        fixed (byte* f = _frame) return Checksum.Ipv4Header(f + 14);
    }

    [Benchmark]
    public ushort UdpChecksum1480()
    {
        fixed (byte* f = _frame) return Checksum.Ipv4L4(f + 14, f + 34, 1480, 17);
    }

    [Benchmark]
    public byte MacSwap()
    {
        fixed (byte* f = _frame)
        {
            Ethernet.SwapAddresses(f);
            return f[0];
        }
    }
}
