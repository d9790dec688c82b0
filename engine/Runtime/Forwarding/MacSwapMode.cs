using Datapath.Engine.Net;
using Datapath.Engine.Packets;

namespace Datapath.Engine.Forwarding;

/// <summary>`macswap`: exchange source and destination MAC and forward (testpmd macswap.c).</summary>
public sealed unsafe class MacSwapMode : ForwardMode
{
    public override string Name => "macswap";

    public override void Run(ForwardStream stream, Span<Packet> burst)
    {
        int n = Receive(stream, burst);
        if (n == 0) return;
        for (int i = 0; i < n; i++)
        {
            if (burst[i].DataLength < Ethernet.HeaderLength) continue;
            Ethernet.SwapAddresses(burst[i].Data);
        }
        SendOrDrop(stream, burst[..n]);
    }
}
