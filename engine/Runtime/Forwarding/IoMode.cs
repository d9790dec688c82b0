using Datapath.Engine.Packets;

namespace Datapath.Engine.Forwarding;

/// <summary>`io`: forward packets untouched (testpmd iofwd.c).</summary>
public sealed class IoMode : ForwardMode
{
    public override string Name => "io";

    public override void Run(ForwardStream stream, Span<Packet> burst)
    {
        int n = Receive(stream, burst);
        if (n > 0) SendOrDrop(stream, burst[..n]);
    }
}
