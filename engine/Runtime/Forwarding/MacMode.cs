using Datapath.Engine.Net;
using Datapath.Engine.Packets;

namespace Datapath.Engine.Forwarding;

/// <summary>
/// `mac`: rewrite the Ethernet addresses and forward (testpmd macfwd.c): source = the tx port's
/// MAC, destination = the tx port's peer (--eth-peer). The addresses are fixed per stream, so they
/// are looked up once in <see cref="Prepare"/>.
/// </summary>
public sealed unsafe class MacMode : ForwardMode
{
    MacAddress[] _src = [];
    MacAddress[] _dst = [];

    public override string Name => "mac";

    public override void Prepare(ForwardingContext context)
    {
        _src = new MacAddress[context.Streams.Count];
        _dst = new MacAddress[context.Streams.Count];
        foreach (var s in context.Streams)
        {
            _src[s.Index] = s.TxPort.Info.Mac;
            _dst[s.Index] = context.PeerMacs[s.TxPort.Id];
        }
    }

    public override void Run(ForwardStream stream, Span<Packet> burst)
    {
        int n = Receive(stream, burst);
        if (n == 0) return;
        MacAddress src = _src[stream.Index], dst = _dst[stream.Index];
        for (int i = 0; i < n; i++)
        {
            // Frames shorter than an Ethernet header have no addresses to rewrite; pass them on as io would.
            if (burst[i].DataLength < Ethernet.HeaderLength) continue;
            byte* frame = burst[i].Data;
            dst.CopyTo(frame);
            src.CopyTo(frame + 6);
        }
        SendOrDrop(stream, burst[..n]);
    }
}
