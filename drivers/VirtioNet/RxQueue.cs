using Datapath.Drivers.Virtio;
using Datapath.Engine.Packets;
using Datapath.Engine.Ports;

namespace Datapath.Drivers.VirtioNet;

/// <summary>
/// A receive queue (virtio 1.2 §5.1.6.3) on a split or packed ring (<typeparamref name="TRing"/>):
/// the ring is kept full of pool buffers, each offered as one device-writable descriptor that starts
/// 12 bytes before the packet's data, so the virtio-net header lands in the headroom and the frame
/// lands where the packet's data begins. This class is the one-buffer-per-packet path (no
/// MRG_RXBUF); <see cref="MergeableRxQueue{TRing}"/> chains buffers. Single lcore; no allocation,
/// lock or exception per packet.
/// </summary>
public unsafe class RxQueue<TRing> : VirtioNetRxQueue where TRing : struct, IDriverRing
{
    public const int MaxBurst = 64;
    protected const int HeaderSize = VirtioNetHeader.Size;

    protected readonly TRing Driver;
    protected readonly PacketPool Pool;
    protected readonly ushort PortId;
    // Packets the backend holds, by buffer id (split: head descriptor): the ring is shared memory the backend could
    // rewrite, this array is not. Release frees what is here.
    readonly nint[] _inRing;
    // The bursts' working arrays, made with the queue rather than stackalloced per burst: a method
    // that stackallocs and loops cannot be patched on-stack (OSR), so the JIT compiles it fully
    // optimized at once and it never tiers or gets dynamic PGO. One lcore owns a queue.
    protected readonly VirtqCompletion[] Completions = new VirtqCompletion[MaxBurst];
    readonly Packet[] _fresh = new Packet[MaxBurst];

    /// <summary>Completions with a length of at most the header (or one the driver rejected).</summary>
    protected ulong BadLength;
    /// <summary>Mergeable: num_buffers of 0 or more than the ring holds.</summary>
    protected ulong BadNumBuffers;

    public RxQueue(uint vringIndex, TRing ring, PacketPool pool, ushort portId, QueueAddressing addressing = default)
        : base(vringIndex, ring.Size, addressing)
    {
        Driver = ring;
        Pool = pool;
        PortId = portId;
        _inRing = new nint[ring.Size];
        var c = new QueueCounters();
        Refill(ref c);
    }

    public override ulong DescAddress => Driver.DescAddress;
    public override ulong AvailAddress => Driver.AvailAddress;
    public override ulong UsedAddress => Driver.UsedAddress;
    public override uint ResumeBase() => Driver.ResumeBase();
    public override ulong HostileValues => Driver.Errors + BadLength + BadNumBuffers;

    /// <summary>Takes up to pkts.Length received packets (headers stripped) and refills the ring.</summary>
    public override int Receive(Span<Packet> pkts, ref QueueCounters c)
    {
        if (!ReadyForBurst()) return 0;
        Span<VirtqCompletion> done = Completions;
        int n = Driver.PollUsed(done[..Math.Min(pkts.Length, MaxBurst)]);
        int got = 0;
        ulong bytes = 0;
        for (int i = 0; i < n; i++)
        {
            var p = Taken(done[i]);
            uint len = done[i].Length;
            // §5.1.6.4: the device writes the header, then the frame. len ≤ 12 carries no frame
            // (or the driver zeroed a length larger than our buffer).
            if (len <= HeaderSize) { Refuse(len); c.Errors++; p.Free(); continue; }
            p.SetLength((int)len - HeaderSize);
            p.Port = PortId;
            bytes += len - HeaderSize;
            pkts[got++] = p;
        }
        c.Packets += (ulong)got;
        c.Bytes += bytes;
        if (n > 0) Refill(ref c);
        return got;
    }

    /// <summary>
    /// A used length that carries no frame. 0 is what the driver reports for a length it already
    /// refused (counted there), so only 1..12 is counted here.
    /// </summary>
    protected void Refuse(uint len)
    {
        if (len != 0) BadLength++;
    }

    /// <summary>The packet behind a completion; it is no longer in the ring.</summary>
    protected Packet Taken(in VirtqCompletion done)
    {
        _inRing[done.Id] = 0;
        return Packet.FromAddress(done.Cookie);
    }

    /// <summary>Offers fresh buffers for every free descriptor; one kick at most, if the backend wants it.</summary>
    protected void Refill(ref QueueCounters c)
    {
        Span<Packet> fresh = _fresh;
        bool added = false;
        while (Driver.FreeDescriptors > 0)
        {
            var batch = fresh[..Math.Min(MaxBurst, Driver.FreeDescriptors)];
            if (!Pool.Alloc(batch))
            {
                c.Dropped += (ulong)batch.Length; // rx_nombuf: the ring runs short until the pool refills
                break;
            }
            foreach (var p in batch)
            {
                ulong at = UseIova ? p.DataIova - HeaderSize : (ulong)(p.Data - HeaderSize);
                Driver.TryAddOne(VirtqBuffer.Writable(at, (uint)(p.Tailroom + HeaderSize)), p.Address, out ushort id);
                _inRing[id] = p.Address;
            }
            added = true;
        }
        if (!added) return;
        Driver.Publish();
        if (Driver.NeedsNotify()) Kick();
    }

    protected override void ResetRing()
    {
        Release();
        Driver.Reset();
        var c = new QueueCounters();
        Refill(ref c);
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
