using Datapath.Engine.Packets;

namespace Datapath.Engine.Forwarding;

/// <summary>`rxonly`: receive and free (testpmd rxonly.c).</summary>
public sealed class RxOnlyMode : ForwardMode
{
    public override string Name => "rxonly";

    public override void Run(ForwardStream stream, Span<Packet> burst)
    {
        int n = Receive(stream, burst);
        if (n > 0) PacketPool.FreeBulk(burst[..n]);
    }
}
