using System.Runtime.InteropServices;
using BenchmarkDotNet.Attributes;
using Datapath.Drivers.VhostUser.Backend;
using Datapath.Drivers.Virtio;
using Datapath.Engine.Lcores;
using Datapath.Engine.Packets;
using Datapath.Engine.Ports;
using Datapath.Hugepages;

namespace Datapath.Benchmarks.Vhost;

/// <summary>
/// The device side of the virtqueues (net_vhost), per packet, on one thread with no peer:
/// Dequeue = VhostDequeue.Burst of 32 one-descriptor buffers and freeing the packets (rxonly's work);
/// Enqueue = allocating 32 packets and VhostEnqueue.Burst into writable buffers (txonly's work minus
/// building frames). The driver's part is the least a driver can do — make the next 32 buffers
/// available with plain stores, descriptors that never change (split: bump avail->idx; packed: store
/// each slot's flags, in order) — so the figure is our code's floor; no cache line moves between
/// cores here, which is what perf/vhost-rate.sh measures against real peers.
/// `./run.sh bench-micro --filter '*VhostDevice*'`
/// </summary>
[SimpleJob(launchCount: 1, warmupCount: 3, iterationCount: 5)]
[MemoryDiagnoser]
public unsafe class VhostDeviceBenchmarks
{
    const int RingSize = 256, Burst = 32, Rounds = 64, BufSize = 2048, HdrSize = VirtioNetHeader.Size;
    const ulong Gpa = 0x4000_0000;

    [Params(false, true)]
    public bool Packed { get; set; }

    [Params(64, 1518)]
    public int Frame { get; set; }

    PacketPool _pool = null!;
    readonly Packet[] _burst = new Packet[Burst];
    QueueCounters _counters;
    DriverStub _tx = null!, _rx = null!;

    [GlobalSetup]
    public void Setup()
    {
        Lcore.SetCurrent(1);
        _pool = PacketPool.Create("bench-vhost", 4096, MemoryOptions.Default);
        _tx = new DriverStub(Packed, writable: false, (uint)(HdrSize + Frame));
        _rx = new DriverStub(Packed, writable: true, BufSize);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _tx.Dispose();
        _rx.Dispose();
        _pool.Dispose();
        Lcore.SetCurrent(Lcore.None);
    }

    [Benchmark(OperationsPerInvoke = Rounds * Burst)]
    public void Dequeue()
    {
        var burst = _burst.AsSpan();
        for (int r = 0; r < Rounds; r++)
        {
            _tx.MakeAvailable(Burst);
            if (VhostDequeue.Burst(_tx.Runtime, _pool, burst, 0, ref _counters) != Burst) throw new InvalidOperationException("dequeue came up short");
            PacketPool.FreeBulk(burst);
        }
    }

    [Benchmark(OperationsPerInvoke = Rounds * Burst)]
    public void Enqueue()
    {
        var burst = _burst.AsSpan();
        for (int r = 0; r < Rounds; r++)
        {
            _rx.MakeAvailable(Burst);
            if (!_pool.Alloc(burst)) throw new InvalidOperationException("pool empty");
            foreach (var p in burst) p.SetLength(Frame);
            if (VhostEnqueue.Burst(_rx.Runtime, burst, ref _counters) != Burst) throw new InvalidOperationException("enqueue came up short");
        }
    }

    /// <summary>
    /// A driver that owns one ring and its buffers in one native block (the "guest memory"): slot i
    /// always names buffer i, so making buffers available is one store per slot (packed) or one per
    /// burst (split). The device returns them in order within each burst, which the stub relies on.
    /// </summary>
    sealed class DriverStub : IDisposable
    {
        readonly byte* _block;
        readonly bool _packed;
        readonly ushort _flagsAvail;
        readonly uint _length;
        readonly PackedRing _packedRing;
        readonly ushort* _availIdx;
        int _next;
        bool _wrap = true;

        public VringRuntime Runtime { get; }

        public DriverStub(bool packed, bool writable, uint length)
        {
            _packed = packed;
            nuint ringBytes = 16 * 4096, total = ringBytes + (nuint)(RingSize * BufSize);
            _block = (byte*)NativeMemory.AlignedAlloc(total, 4096);
            NativeMemory.Clear(_block, total);
            ulong BufferGpa(int i) => Gpa + (ulong)ringBytes + (ulong)(i * BufSize);
            var memory = GuestMemoryTable.From([new GuestMemoryTable.Region(Gpa, total, Gpa, 0, (nint)_block, total)]);
            _length = length;
            _flagsAvail = writable ? PackedDescriptor.FlagWrite : (ushort)0;
            if (packed)
            {
                _packedRing = new PackedRingLayout(RingSize).Place(_block);
                for (int i = 0; i < RingSize; i++)
                    _packedRing.Desc[i] = new PackedDescriptor { Addr = BufferGpa(i), Len = length, Id = (ushort)i };
                // A polling driver asks for no used-buffer notifications (§2.8.10).
                _packedRing.DriverEvent->Flags = PackedEventSuppression.Disable;
                var queue = new PackedVirtqueueDevice(_packedRing, memory, eventIdx: true, indirectDesc: true, inOrder: true);
                Runtime = new VringRuntime(queue, -1, HdrSize, mergeable: true);
            }
            else
            {
                var ring = new SplitRing(RingSize, _block, _block + 16 * RingSize, _block + 8 * 4096);
                for (int i = 0; i < RingSize; i++)
                {
                    var d = (VirtqDescriptor*)_block + i;
                    d->Addr = BufferGpa(i);
                    d->Len = length;
                    d->Flags = _flagsAvail;
                    ring.AvailRing[i] = (ushort)i;
                }
                *ring.AvailFlags = SplitRing.AvailFlagNoInterrupt;
                _availIdx = ring.AvailIdx;
                var queue = new SplitVirtqueueDevice(ring, memory, eventIdx: false, indirectDesc: true);
                Runtime = new VringRuntime(queue, -1, HdrSize, mergeable: true);
            }
        }

        public void MakeAvailable(int n)
        {
            if (!_packed)
            {
                Volatile.Write(ref *_availIdx, (ushort)(*_availIdx + n));
                return;
            }
            for (int i = 0; i < n; i++)
            {
                // §2.8.1: AVAIL = the driver's wrap counter, USED = its inverse.
                ushort bits = _wrap ? PackedDescriptor.FlagAvail : PackedDescriptor.FlagUsed;
                var d = _packedRing.Desc + _next;
                // A used descriptor the device wrote here carries its own id and length.
                d->Id = (ushort)_next;
                d->Len = _length;
                Volatile.Write(ref d->Flags, (ushort)(bits | _flagsAvail));
                if (++_next == RingSize) { _next = 0; _wrap = !_wrap; }
            }
        }

        public void Dispose() => NativeMemory.AlignedFree(_block);
    }
}
