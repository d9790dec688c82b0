using BenchmarkDotNet.Attributes;
using Datapath.Drivers.Virtio;
using Datapath.Drivers.VirtioNet;
using Datapath.Engine.Lcores;
using Datapath.Engine.Packets;
using Datapath.Engine.Ports;
using Datapath.Hugepages;

namespace Datapath.Benchmarks.Virtio;

/// <summary>
/// The driver side of the virtio-net queues (net_virtio_user and net_virtio), per packet, on one
/// thread with no peer: Tx = allocate a burst of 32 (txonly's work without the header copy) and
/// TxQueue.Transmit it; Rx = RxQueue.Receive a burst and free it (rxonly's work). The device's part is
/// the least a device can do — mark the buffers used in ring order with plain stores — so the
/// figure is our code's floor; perf/vhost-rate.sh measures it against real peers.
/// `./run.sh bench-micro --filter '*VirtioDriver*'`
/// </summary>
[SimpleJob(launchCount: 1, warmupCount: 3, iterationCount: 5)]
[MemoryDiagnoser]
public unsafe class VirtioDriverBenchmarks
{
    const int QueueSize = 256, Burst = 32, Rounds = 64, Frame = 64, HeaderSize = VirtioNetHeader.Size;

    [Params(false, true)]
    public bool Packed { get; set; }

    PacketPool _pool = null!;
    VirtqRings _rings = null!;
    VirtioNetTxQueue _tx = null!;
    VirtioNetRxQueue _rx = null!;
    readonly Packet[] _burst = new Packet[Burst];
    QueueCounters _counters;
    // The device's cursor per ring: split, the next avail index; packed, the next slot and wrap counter.
    ushort _txNext, _rxNext;
    bool _txWrap = true, _rxWrap = true;

    [GlobalSetup]
    public void Setup()
    {
        Lcore.SetCurrent(1);
        _pool = PacketPool.Create("bench-virtio", 4096, MemoryOptions.Default);
        _rings = new VirtqRings("bench-virtio", 2, QueueSize, 0, MemoryOptions.Default);
        var memory = new MappedMemory([((ulong)_pool.Region.Base, _pool.Region.Length)]);
        _rx = VirtioNetQueues.Rx(_rings, 0, Packed, mergeable: false, inOrder: true, _pool, 0);
        _tx = VirtioNetQueues.Tx(_rings, 1, Packed, inOrder: true, memory, (ulong)_rings.ZeroHeader);
        // A polling device asks for no notifications (§2.7.10, §2.8.10), as ours and DPDK's do:
        // otherwise every burst pays an eventfd write.
        for (int q = 0; q < 2; q++)
        {
            if (Packed) _rings.Packed(q).DeviceEvent->Flags = PackedEventSuppression.Disable;
            else *_rings.Split(q).UsedFlags = SplitRing.UsedFlagNoNotify;
        }
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _tx.Dispose();
        _rx.Dispose();
        _rings.Dispose();
        _pool.Dispose();
        Lcore.SetCurrent(Lcore.None);
    }

    [Benchmark(OperationsPerInvoke = Rounds * Burst)]
    public void Tx()
    {
        var burst = _burst.AsSpan();
        for (int r = 0; r < Rounds; r++)
        {
            if (!_pool.Alloc(burst)) throw new InvalidOperationException("pool empty");
            foreach (var p in burst) p.SetLength(Frame);
            if (_tx.Transmit(burst, ref _counters) != Burst) throw new InvalidOperationException("tx ring full");
            Complete(1, ref _txNext, ref _txWrap, Burst, 0);
        }
    }

    [Benchmark(OperationsPerInvoke = Rounds * Burst)]
    public void Rx()
    {
        var burst = _burst.AsSpan();
        for (int r = 0; r < Rounds; r++)
        {
            Complete(0, ref _rxNext, ref _rxWrap, Burst, HeaderSize + Frame);
            if (_rx.Receive(burst, ref _counters) != Burst) throw new InvalidOperationException("rx came up short");
            PacketPool.FreeBulk(burst);
        }
    }

    /// <summary>The device uses the next <paramref name="n"/> one-descriptor buffers of ring <paramref name="q"/>, in order.</summary>
    void Complete(int q, ref ushort next, ref bool wrap, int n, uint len)
    {
        if (Packed)
        {
            var ring = _rings.Packed(q);
            for (int i = 0; i < n; i++)
            {
                var d = ring.Desc + next;
                d->Len = len;
                ushort used = wrap ? (ushort)(PackedDescriptor.FlagAvail | PackedDescriptor.FlagUsed) : (ushort)0;
                Volatile.Write(ref d->Flags, (ushort)(used | (len != 0 ? PackedDescriptor.FlagWrite : 0)));
                if (++next == QueueSize) { next = 0; wrap = !wrap; }
            }
            return;
        }
        var s = _rings.Split(q);
        ushort usedIdx = *s.UsedIdx;
        for (int i = 0; i < n; i++)
        {
            s.UsedRing[(ushort)(usedIdx + i) & (QueueSize - 1)] = new VirtqUsedElement { Id = s.AvailRing[next & (QueueSize - 1)], Len = len };
            next++;
        }
        Volatile.Write(ref *s.UsedIdx, (ushort)(usedIdx + n));
    }
}
