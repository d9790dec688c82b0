using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using Datapath.Engine.Net;
using Datapath.Engine.Packets;

namespace Datapath.Engine.Forwarding;

/// <summary>
/// `flowgen`: generate Ethernet/IPv4/UDP frames like txonly, cycling through
/// <see cref="ForwardingContext.FlowCount"/> flows, and drop whatever is received (testpmd
/// flowgen.c). Flow i goes to the IPv4 destination base + i, as testpmd varies the destination
/// address; the source stays the configured one. Frames are single-segment, sum of --txpkts bytes.
/// </summary>
public sealed unsafe class FlowGenMode : ForwardMode
{
    // One cache line per stream's flow counter: streams on different lcores must not share a line.
    const int CounterStride = 64 / sizeof(int);

    byte[][] _templates = [];
    ulong[] _partialSums = [];
    int[] _nextFlow = [];
    int _frameLength;
    int _flowCount = 1;
    uint _baseDestination; // host order

    public override string Name => "flowgen";

    public override void Prepare(ForwardingContext context)
    {
        if (context.FlowCount < 1) throw new ArgumentException($"flowgen: {context.FlowCount} flows (need at least 1)");
        _flowCount = context.FlowCount;
        _frameLength = context.TxPacketSegments.Sum();
        if (_frameLength < TxOnlyMode.HeaderBytes)
            throw new ArgumentException($"txpkts: flowgen frames of {_frameLength} B cannot hold the {TxOnlyMode.HeaderBytes} header bytes");
        _baseDestination = BinaryPrimitives.ReverseEndianness(Ipv4.ToNet(context.TxDestinationIp));
        _templates = new byte[context.Streams.Count][];
        _partialSums = new ulong[context.Streams.Count];
        _nextFlow = new int[context.Streams.Count * CounterStride];
        foreach (var s in context.Streams)
        {
            int dataRoom = s.TxPort.Config!.Pool.DataRoom;
            if (_frameLength > dataRoom)
                throw new ArgumentException($"txpkts: flowgen frames of {_frameLength} B exceed the pool's {dataRoom} B data room");
            byte[] t = TxOnlyMode.BuildHeaders(s.TxPort.Info.Mac, context.PeerMacs[s.TxPort.Id], context, _frameLength);
            fixed (byte* p = t)
            {
                // The header sum without checksum and destination: each packet adds its own
                // destination and folds, instead of summing all 20 bytes again (RFC 1071 §2(C)).
                byte* ip = p + Ethernet.HeaderLength;
                *(ushort*)(ip + Ipv4.ChecksumOffset) = 0;
                *(uint*)(ip + 16) = 0;
                _partialSums[s.Index] = Checksum.Add(0, ip, Ipv4.MinHeaderLength);
            }
            _templates[s.Index] = t;
        }
    }

    public override void Run(ForwardStream stream, Span<Packet> burst)
    {
        int received = Receive(stream, burst);
        if (received > 0) PacketPool.FreeBulk(burst[..received]);

        var pool = stream.TxPort.Config!.Pool;
        if (!pool.Alloc(burst)) return;
        ref int flow = ref _nextFlow[stream.Index * CounterStride];
        ulong partial = _partialSums[stream.Index];
        ushort port = stream.TxPort.Id;
        fixed (byte* t = _templates[stream.Index])
        {
            for (int i = 0; i < burst.Length; i++)
            {
                var p = burst[i];
                byte* frame = p.Data;
                Unsafe.CopyBlockUnaligned(frame, t, TxOnlyMode.HeaderBytes);
                byte* ip = frame + Ethernet.HeaderLength;
                uint dst = BinaryPrimitives.ReverseEndianness(_baseDestination + (uint)flow);
                *(uint*)(ip + 16) = dst;
                ushort sum = (ushort)~Checksum.Fold(Checksum.Add(partial, (byte*)&dst, 4));
                BinaryPrimitives.WriteUInt16BigEndian(new Span<byte>(ip + Ipv4.ChecksumOffset, 2), sum);
                p.Port = port;
                p.SetLength(_frameLength);
                if (++flow == _flowCount) flow = 0;
            }
        }
        SendOrDrop(stream, burst);
    }
}
