using Datapath.Engine.Net;
using Datapath.Engine.Packets;
using Datapath.Engine.Ports;
using Datapath.Engine.Rings;

namespace Datapath.Drivers.Ring;

/// <summary>
/// net_ring: a port backed by rings (DPDK drivers/net/ring). Alone, each queue's tx ring is its rx
/// ring (a loopback). `net_ring1,peer=net_ring0` wires two ports back to back: what one sends the
/// other receives. Rings are single-producer/single-consumer: one lcore per queue direction.
/// </summary>
public sealed unsafe class RingPort : Port
{
    public const int MaxQueues = 16;

    PointerRing[] _rx;
    PointerRing[] _tx;
    readonly MacAddress _mac;
    readonly int _ringSize;

    RingPort(string name, int queues, int ringSize, MacAddress mac) : base(name)
    {
        _ringSize = ringSize;
        _mac = mac;
        _rx = new PointerRing[queues];
        for (int q = 0; q < queues; q++) _rx[q] = new PointerRing($"{name}-q{q}", ringSize, RingFlags.SingleProducerSingleConsumer);
        _tx = _rx;
    }

    public static readonly VdevDriver Driver = new(
        "net_ring", ["queues", "size", "peer", "mac"],
        "net_ringN[,queues=1][,size=1024][,peer=net_ringM][,mac=xx:..]",
        Create);

    static Port Create(DeviceArgs args, DriverContext ctx)
    {
        int queues = (int)args.GetInt("queues", 1, 1, MaxQueues);
        int size = (int)args.GetInt("size", 1024, 2, 1 << 20);
        if ((size & (size - 1)) != 0) throw new DeviceArgsException($"{args.Name}: size={size} must be a power of two");
        var mac = args.GetString("mac") is { } m ? MacAddress.Parse(m) : MacAddress.Local(0x70 + ctx.Ports.Count);
        var port = new RingPort(args.Name, queues, size, mac);
        if (args.GetString("peer") is { } peerName)
        {
            if (ctx.Ports.Find(peerName) is not RingPort peer)
                throw new DeviceArgsException($"{args.Name}: peer={peerName} is not a net_ring port created before it");
            port.WireTo(peer);
        }
        return port;
    }

    /// <summary>Back to back: our tx feeds the peer's rx, the peer's tx feeds our rx.</summary>
    void WireTo(RingPort peer)
    {
        if (peer._tx != peer._rx) throw new DeviceArgsException($"{Name}: {peer.Name} already has a peer");
        if (peer._rx.Length != _rx.Length) throw new DeviceArgsException($"{Name}: queues={_rx.Length} differs from {peer.Name}'s {peer._rx.Length}");
        if (peer.State == PortState.Started) throw new DeviceArgsException($"{Name}: stop {peer.Name} before wiring a peer to it");
        // The peer keeps its rx rings, which become our tx; our own rings become its tx.
        _tx = peer._rx;
        peer._tx = _rx;
    }

    public override PortInfo Info => new()
    {
        DriverName = "net_ring",
        DeviceName = Name,
        Mac = _mac,
        MaxRxQueues = _rx.Length,
        MaxTxQueues = _rx.Length,
        MaxDescriptors = 65536,
    };

    protected override void OnConfigure(PortConfig config) { }

    public override int RxBurst(int queue, Span<Packet> pkts)
    {
        int n = _rx[queue].DequeueBurst(System.Runtime.InteropServices.MemoryMarshal.Cast<Packet, nint>(pkts));
        if (n == 0) return 0;
        ref var c = ref Counters.Rx(queue);
        ulong bytes = 0;
        for (int i = 0; i < n; i++)
        {
            bytes += pkts[i].Header->PktLen;
            pkts[i].Header->Port = Id;
        }
        c.Packets += (ulong)n;
        c.Bytes += bytes;
        return n;
    }

    public override int TxBurst(int queue, ReadOnlySpan<Packet> pkts)
    {
        int n = _tx[queue].EnqueueBurst(System.Runtime.InteropServices.MemoryMarshal.Cast<Packet, nint>(pkts));
        ref var c = ref Counters.Tx(queue);
        ulong bytes = 0;
        for (int i = 0; i < n; i++) bytes += pkts[i].Header->PktLen;
        c.Packets += (ulong)n;
        c.Bytes += bytes;
        return n;
    }

    /// <summary>Packets waiting in a queue's rx ring.</summary>
    public int Pending(int queue) => _rx[queue].Count;

    protected override void OnClose()
    {
        // Packets still in our rx rings go back to their pools; the rings themselves are freed once,
        // by the port that created them.
        Span<nint> drain = stackalloc nint[64];
        foreach (var r in _rx)
        {
            int n;
            while ((n = r.DequeueBurst(drain)) > 0)
                foreach (nint p in drain[..n]) Packet.FromAddress(p).Free();
        }
    }

    public override string ToString() => $"{base.ToString()} rings of {_ringSize}";
}
