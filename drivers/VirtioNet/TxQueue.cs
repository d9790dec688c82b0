using System.Runtime.CompilerServices;
using Datapath.Drivers.Virtio;
using Datapath.Engine.Packets;
using Datapath.Engine.Ports;

namespace Datapath.Drivers.VirtioNet;

/// <summary>
/// A transmit queue (virtio 1.2 §5.1.6.2) on a split or packed ring (<typeparamref name="TRing"/>): each packet is one chain, one device-readable
/// descriptor per segment, the 12-byte virtio-net header prepended in the first segment's headroom
/// (or, for a shared or headroom-less packet, a separate descriptor pointing at a constant zero
/// header: we offload nothing, so every header is zeros). Used chains are reclaimed at the start of
/// each burst (packed rings: of a burst that might not fit), and their packets freed in bulk. One kick at most per burst, and none when the backend
/// suppressed notifications (§2.7.10, §2.8.10). Single lcore; no allocation, lock or exception per packet.
/// </summary>
public sealed unsafe class TxQueue<TRing> : VirtioNetTxQueue where TRing : struct, IDriverRing
{
    public const int MaxBurst = 64;
    const int HeaderSize = VirtioNetHeader.Size;

    readonly TRing _driver;
    readonly MappedMemory _memory;
    readonly ulong _zeroHeader;
    readonly nint[] _inRing;
    // The bursts' working arrays, made with the queue rather than stackalloced per burst: a method
    // that stackallocs and loops cannot be patched on-stack (OSR), so the JIT compiles it fully
    // optimized at once and it never tiers or gets dynamic PGO. One lcore owns a queue.
    readonly VirtqBuffer[] _chain = new VirtqBuffer[MaxSegments + 1];
    readonly VirtqCompletion[] _done = new VirtqCompletion[MaxBurst];
    readonly Packet[] _sent = new Packet[MaxBurst];

    /// <param name="zeroHeader">The constant zero header as the device addresses it (VA or IOVA, as <paramref name="addressing"/> says).</param>
    public TxQueue(uint vringIndex, TRing ring, MappedMemory memory, ulong zeroHeader, QueueAddressing addressing = default)
        : base(vringIndex, ring.Size, addressing)
    {
        _driver = ring;
        _memory = memory;
        _zeroHeader = zeroHeader;
        _inRing = new nint[ring.Size];
    }

    public override ulong DescAddress => _driver.DescAddress;
    public override ulong AvailAddress => _driver.AvailAddress;
    public override ulong UsedAddress => _driver.UsedAddress;
    public override uint ResumeBase() => _driver.ResumeBase();
    public override ulong HostileValues => _driver.Errors;

    public override int Transmit(ReadOnlySpan<Packet> pkts, ref QueueCounters c)
    {
        if (!ReadyForBurst()) return 0;
        // Packed rings reclaim only when the burst might not fit (IDriverRing.ReclaimWhenFull): no
        // packet takes more than MaxSegments + 1 slots, so below that reserve the ring is never stuck.
        if (!_driver.ReclaimWhenFull || _driver.FreeDescriptors < 2 * pkts.Length + MaxSegments + 1) Reclaim();
        Span<VirtqBuffer> chain = _chain;
        int accepted = 0;
        int queued = 0;
        ulong bytes = 0;
        for (; accepted < pkts.Length; accepted++)
        {
            var p = pkts[accepted];
            int segments = p.SegmentCount;
            if (segments + 1 > _driver.FreeDescriptors) break;   // ring full: the caller keeps the rest
            if (segments > MaxSegments || !Reachable(_memory, p))
            {
                Unsendable++;
                c.Dropped++;
                p.Free();
                continue;
            }
            int length = p.PacketLength;
            // Prepend only into a buffer we alone own: another holder would see the header.
            bool inPlace = p.Header->RefCnt == 1 && p.Headroom >= HeaderSize;
            ushort id;
            if (inPlace && segments == 1)
            {
                // Header and frame in one descriptor (DPDK's "can push"): one slot, no chain to build.
                byte* h = PushHeader(p);
                if (!_driver.TryAddOne(VirtqBuffer.Readable(UseIova ? p.DataIova : (ulong)h, (uint)p.DataLength), p.Address, out id))
                {
                    p.Adjust(HeaderSize);
                    break;
                }
            }
            else if (!TryAddChain(chain, p, inPlace, out id)) break;
            _inRing[id] = p.Address;
            bytes += (ulong)length;
            queued++;
        }
        c.Packets += (ulong)queued;
        c.Bytes += bytes;
        if (queued > 0)
        {
            _driver.Publish();
            if (_driver.NeedsNotify()) Kick();
        }
        return accepted;
    }

    /// <summary>
    /// A packet as a chain: the header in its headroom or in a descriptor of its own (the shared zero
    /// header), then one descriptor per segment. On false nothing was added and the packet is as it was.
    /// Not inlined: the one-descriptor path stays a small loop.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    bool TryAddChain(Span<VirtqBuffer> chain, Packet p, bool inPlace, out ushort id)
    {
        int k = 0;
        if (inPlace)
        {
            byte* h = PushHeader(p);
            chain[k++] = VirtqBuffer.Readable(UseIova ? p.DataIova : (ulong)h, (uint)p.DataLength);
        }
        else
        {
            chain[k++] = VirtqBuffer.Readable(_zeroHeader, HeaderSize);
            chain[k++] = VirtqBuffer.Readable(UseIova ? p.DataIova : (ulong)p.Data, (uint)p.DataLength);
        }
        for (var s = p.Next; !s.IsNull; s = s.Next)
            chain[k++] = VirtqBuffer.Readable(UseIova ? s.DataIova : (ulong)s.Data, (uint)s.DataLength);
        if (_driver.TryAdd(chain[..k], p.Address, out id)) return true;
        if (inPlace) p.Adjust(HeaderSize);
        return false;
    }

    /// <summary>A zero header (no offload asked for) into the packet's headroom, in front of its frame.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static byte* PushHeader(Packet p)
    {
        byte* h = p.Prepend(HeaderSize);
        VirtioNetHeader.StoreUnlessEqual(h, 0, 0);
        return h;
    }

    /// <summary>Frees the packets of every chain the backend has used.</summary>
    void Reclaim()
    {
        Span<VirtqCompletion> done = _done;
        Span<Packet> sent = _sent;
        int n;
        do
        {
            n = _driver.PollUsed(done);
            for (int i = 0; i < n; i++)
            {
                _inRing[done[i].Id] = 0;
                sent[i] = Packet.FromAddress(done[i].Cookie);
            }
            PacketPool.FreeBulk(sent[..n]);
        } while (n == MaxBurst);
    }

    protected override void ResetRing()
    {
        Release();
        _driver.Reset();
    }

    public override void Wake() => Kick();

    public override void Release()
    {
        for (int i = 0; i < _inRing.Length; i++)
        {
            if (_inRing[i] != 0) Packet.FromAddress(_inRing[i]).Free();
            _inRing[i] = 0;
        }
    }
}
