using Datapath.Engine.Net;
using Datapath.Engine.Packets;
using Datapath.Engine.Ports;

namespace Datapath.Drivers.Null;

/// <summary>
/// net_null: rx hands out packets of a set size from the port's pool, tx frees what it is given
/// (DPDK drivers/net/null). A source and sink for measuring everything but a device.
/// </summary>
public sealed class NullPort : Port
{
    public const int MaxQueues = 64;

    readonly int _size;
    readonly bool _copy;
    readonly bool _noRx;
    readonly MacAddress _mac;
    PacketPool? _pool;

    public NullPort(string name, int size, bool copy, bool noRx, MacAddress mac) : base(name)
    {
        _size = size; _copy = copy; _noRx = noRx; _mac = mac;
    }

    public static readonly VdevDriver Driver = new(
        "net_null", ["size", "copy", "no-rx", "mac"],
        "net_nullN[,size=64][,copy=0|1][,no-rx=0|1][,mac=xx:..]",
        (args, ctx) => new NullPort(args.Name,
            (int)args.GetInt("size", 64, 0, ushort.MaxValue),
            args.GetBool("copy", false),
            args.GetBool("no-rx", false),
            args.GetString("mac") is { } m ? MacAddress.Parse(m) : MacAddress.Local(0x60 + ctx.Ports.Count)));

    public override PortInfo Info => new()
    {
        DriverName = "net_null",
        DeviceName = Name,
        Mac = _mac,
        MaxRxQueues = MaxQueues,
        MaxTxQueues = MaxQueues,
        MaxDescriptors = 65536,
    };

    protected override void OnConfigure(PortConfig config)
    {
        if (_size > config.Pool.DataRoom)
            throw new PortConfigException($"{Name}: size={_size} does not fit the pool's {config.Pool.DataRoom} B data room");
        _pool = config.Pool;
    }

    public override unsafe int RxBurst(int queue, Span<Packet> pkts)
    {
        if (_noRx || pkts.Length == 0) return 0;
        ref var c = ref Counters.Rx(queue);
        if (!_pool!.Alloc(pkts))
        {
            c.Dropped += (ulong)pkts.Length;
            return 0;
        }
        for (int i = 0; i < pkts.Length; i++)
        {
            var p = pkts[i];
            p.SetLength(_size);
            p.Port = Id;
            if (_copy) new Span<byte>(p.Data, _size).Clear();
        }
        c.Packets += (ulong)pkts.Length;
        c.Bytes += (ulong)(pkts.Length * _size);
        return pkts.Length;
    }

    public override unsafe int TxBurst(int queue, ReadOnlySpan<Packet> pkts)
    {
        ref var c = ref Counters.Tx(queue);
        ulong bytes = 0;
        byte sink = 0;
        for (int i = 0; i < pkts.Length; i++)
        {
            bytes += (ulong)pkts[i].PacketLength;
            // copy=1 reads every byte, as a device DMA would.
            if (_copy) foreach (byte b in pkts[i].Span) sink ^= b;
        }
        _ = sink;
        PacketPool.FreeBulk(pkts);
        c.Packets += (ulong)pkts.Length;
        c.Bytes += bytes;
        return pkts.Length;
    }
}
