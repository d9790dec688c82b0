using Datapath.Engine.Net;
using Datapath.Engine.Packets;

namespace Datapath.Engine.Forwarding;

/// <summary>
/// `icmpecho`: a responder (testpmd icmpecho.c). ARP requests for any IPv4 address get a reply
/// naming the tx port's MAC (RFC 826); ICMP echo requests get echo replies (RFC 792). Everything
/// else is freed and counted in <see cref="StreamCounters.Ignored"/>. Replies are built in the
/// received buffer and compacted to the front of the burst, so nothing is allocated.
/// Frames are read as untrusted: every offset is checked against the first segment's length.
/// VLAN-tagged frames are not parsed (testpmd strips up to two tags; here they are ignored).
/// </summary>
public sealed unsafe class IcmpEchoMode : ForwardMode
{
    MacAddress[] _macs = [];

    public override string Name => "icmpecho";

    public override void Prepare(ForwardingContext context)
    {
        _macs = new MacAddress[context.Streams.Count];
        foreach (var s in context.Streams) _macs[s.Index] = s.TxPort.Info.Mac;
    }

    public override void Run(ForwardStream stream, Span<Packet> burst)
    {
        int n = Receive(stream, burst);
        if (n == 0) return;
        MacAddress ourMac = _macs[stream.Index];
        int replies = 0;
        for (int i = 0; i < n; i++)
        {
            var p = burst[i];
            if (TryReply(p, ourMac)) burst[replies++] = p;
            else
            {
                stream.Counters.Ignored++;
                p.Free();
            }
        }
        SendOrDrop(stream, burst[..replies]);
    }

    /// <summary>Rewrites an ARP request or ICMP echo request into its reply; false for anything else.</summary>
    internal static bool TryReply(Packet p, MacAddress ourMac)
    {
        byte* frame = p.Data;
        int length = p.DataLength;
        if (length < Ethernet.HeaderLength) return false;
        ushort type = Ethernet.EtherType(frame);
        if (type == Ethernet.TypeArp) return TryArpReply(frame, length, ourMac);
        if (type == Ethernet.TypeIpv4) return TryEchoReply(frame, length);
        return false;
    }

    static bool TryArpReply(byte* frame, int length, MacAddress ourMac)
    {
        if (length < Ethernet.HeaderLength + Arp.Length) return false;
        byte* arp = frame + Ethernet.HeaderLength;
        if (!Arp.IsEthernetIpv4(arp) || Arp.Opcode(arp) != Arp.OpRequest) return false;
        // Back to the requester, from us.
        Buffer.MemoryCopy(frame + 6, frame, 6, 6);
        ourMac.CopyTo(frame + 6);
        Arp.MakeReply(arp, ourMac);
        return true;
    }

    static bool TryEchoReply(byte* frame, int length)
    {
        if (length < Ethernet.HeaderLength + Ipv4.MinHeaderLength) return false;
        byte* ip = frame + Ethernet.HeaderLength;
        int ihl = Ipv4.HeaderLength(ip);
        if ((ip[0] >> 4) != 4 || ihl < Ipv4.MinHeaderLength) return false;
        if (Ipv4.Protocol(ip) != Ipv4.ProtocolIcmp) return false;
        // The ICMP header must be in this segment; the rest of the message may follow in others.
        if (length < Ethernet.HeaderLength + ihl + Icmp.HeaderLength) return false;
        if (Ipv4.TotalLength(ip) < ihl + Icmp.HeaderLength) return false;
        byte* icmp = ip + ihl;
        if (Icmp.Type(icmp) != Icmp.TypeEchoRequest || Icmp.Code(icmp) != 0) return false;

        Ethernet.SwapAddresses(frame);
        Ipv4.SwapAddresses(ip);
        // Swapping addresses leaves the header sum as it was; recomputing also repairs a request
        // that arrived with a bad one, so the reply is always valid (RFC 791 §3.1).
        Ipv4.SetChecksum(ip);
        Icmp.MakeEchoReply(icmp);
        return true;
    }
}
