using System.Buffers.Binary;
using Datapath.Engine.Net;
using Datapath.Engine.Packets;

namespace Datapath.Engine.Forwarding;

/// <summary>
/// `csum`: checksum forwarding without hardware offload (testpmd csumonly.c). For each IPv4 frame:
/// check the header checksum and the UDP/TCP checksum, counting failures in
/// <see cref="StreamCounters.BadIpChecksum"/> / <see cref="StreamCounters.BadL4Checksum"/>, then
/// recompute both in software; rewrite the MACs as `mac` does, and forward every frame.
/// L4 is checked only when the whole datagram is in the first segment and is not a fragment;
/// a UDP checksum of 0 means "none" (RFC 768) and is left 0, as testpmd does.
/// </summary>
public sealed unsafe class CsumMode : ForwardMode
{
    MacAddress[] _src = [];
    MacAddress[] _dst = [];

    public override string Name => "csum";

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
            var p = burst[i];
            if (p.DataLength < Ethernet.HeaderLength) continue;
            byte* frame = p.Data;
            if (Ethernet.EtherType(frame) == Ethernet.TypeIpv4) CheckAndFix(ref stream.Counters, p, frame + Ethernet.HeaderLength);
            dst.CopyTo(frame);
            src.CopyTo(frame + 6);
        }
        SendOrDrop(stream, burst[..n]);
    }

    /// <summary>Counts a bad IPv4 header / L4 checksum and rewrites both; malformed headers are left alone.</summary>
    internal static void CheckAndFix(ref StreamCounters counters, Packet p, byte* ip)
    {
        int inSegment = p.DataLength - Ethernet.HeaderLength;
        if (inSegment < Ipv4.MinHeaderLength) return;
        int ihl = Ipv4.HeaderLength(ip);
        if ((ip[0] >> 4) != 4 || ihl < Ipv4.MinHeaderLength || ihl > inSegment) return;

        if (!Checksum.Verify(ip, ihl)) counters.BadIpChecksum++;
        Ipv4.SetChecksum(ip);

        byte protocol = Ipv4.Protocol(ip);
        if (protocol != Ipv4.ProtocolUdp && protocol != Ipv4.ProtocolTcp) return;
        int total = Ipv4.TotalLength(ip);
        // The L4 checksum covers the whole datagram: it must be contiguous here and not a fragment.
        if (total < ihl || total > inSegment || p.SegmentCount != 1 || Ipv4.IsFragment(ip)) return;
        byte* l4 = ip + ihl;
        int l4Length = total - ihl;

        if (protocol == Ipv4.ProtocolUdp)
        {
            if (l4Length < Udp.HeaderLength) return;
            if (BinaryPrimitives.ReadUInt16BigEndian(new ReadOnlySpan<byte>(l4 + Udp.ChecksumOffset, 2)) == 0) return;
            if (!Checksum.VerifyIpv4L4(ip, l4, l4Length, protocol)) counters.BadL4Checksum++;
            Udp.SetChecksum(ip, l4, l4Length);
        }
        else
        {
            if (l4Length < Tcp.MinHeaderLength) return;
            if (!Checksum.VerifyIpv4L4(ip, l4, l4Length, protocol)) counters.BadL4Checksum++;
            Tcp.SetChecksum(ip, l4, l4Length);
        }
    }
}
