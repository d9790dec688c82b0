using System.Runtime.CompilerServices;
using Datapath.Drivers.Virtio;
using Datapath.Engine.Packets;
using Datapath.Engine.Ports;

namespace Datapath.Drivers.VirtioNet;

/// <summary>
/// A packed receive queue (virtio 1.2 §2.8, §5.1.6.3): as <see cref="SplitRxQueue"/>, on a
/// <see cref="PackedVirtqueueDriver"/>. The ring is kept full of pool buffers, each one
/// device-writable descriptor starting 12 bytes before the packet's data (the virtio-net header
/// lands in the headroom). This class is the one-buffer-per-packet path; <see cref="PackedMergeableRxQueue"/>
/// chains buffers. Single lcore; no allocation, lock or exception per packet.
/// </summary>
public unsafe class PackedRxQueue : VirtioNetRxQueue
{
    public const int MaxBurst = 64;
    protected const int HeaderSize = VirtioNetHeader.Size;

    protected readonly PackedVirtqueueDriver Driver;
    protected readonly PacketPool Pool;
    protected readonly ushort PortId;
    readonly PackedRing _ring;
    // Packets the backend holds, by buffer id: the ring is shared memory, this array is not.
    readonly nint[] _inRing;

    /// <summary>Completions with a length of at most the header (or one the driver rejected).</summary>
    protected ulong BadLength;
    /// <summary>Mergeable: num_buffers of 0 or more than the ring holds.</summary>
    protected ulong BadNumBuffers;

    public PackedRxQueue(uint vringIndex, PackedRing ring, bool inOrder, PacketPool pool, ushort portId, QueueAddressing addressing = default)
        : base(vringIndex, ring.Size, addressing)
    {
        _ring = ring;
        Driver = new PackedVirtqueueDriver(ring, eventIdx: false, inOrder);
        // §2.8.10: we poll; ask the backend not to write our call eventfd.
        Driver.DisableUsedNotifications();
        Pool = pool;
        PortId = portId;
        _inRing = new nint[ring.Size];
        var c = new QueueCounters();
        Refill(ref c);
    }

    // vhost-user SET_VRING_ADDR for a packed ring: desc, then the driver and device event areas in
    // the avail and used fields (vhost-user.rst, "Vring address description").
    public override ulong DescAddress => (ulong)_ring.Desc;
    public override ulong AvailAddress => (ulong)_ring.DriverEvent;
    public override ulong UsedAddress => (ulong)_ring.DeviceEvent;
    public override uint ResumeBase() => Driver.ResumeBase();
    public override ulong HostileValues => Driver.Errors.Total + BadLength + BadNumBuffers;

    [SkipLocalsInit]
    public override int Receive(Span<Packet> pkts, ref QueueCounters c)
    {
        Span<VirtqCompletion> done = stackalloc VirtqCompletion[MaxBurst];
        int n = Driver.PollUsed(done[..Math.Min(pkts.Length, MaxBurst)]);
        int got = 0;
        ulong bytes = 0;
        for (int i = 0; i < n; i++)
        {
            var p = Taken(done[i]);
            uint len = done[i].Length;
            // §5.1.6.4: header, then frame; len ≤ 12 carries no frame (0: the driver refused it).
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

    protected void Refuse(uint len)
    {
        if (len != 0) BadLength++;
    }

    protected Packet Taken(in VirtqCompletion done)
    {
        _inRing[done.Id] = 0;
        return Packet.FromAddress(done.Cookie);
    }

    /// <summary>Offers fresh buffers for every free slot, published at once (§2.8.21.1); one kick at most.</summary>
    [SkipLocalsInit]
    protected void Refill(ref QueueCounters c)
    {
        Span<Packet> fresh = stackalloc Packet[MaxBurst];
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
                var buffer = VirtqBuffer.Writable(at, (uint)(p.Tailroom + HeaderSize));
                Driver.TryAdd(new ReadOnlySpan<VirtqBuffer>(in buffer), p.Address, out ushort id);
                _inRing[id] = p.Address;
            }
            added = true;
        }
        if (!added) return;
        Driver.Publish();
        if (Driver.NeedsNotify()) Kick();
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
