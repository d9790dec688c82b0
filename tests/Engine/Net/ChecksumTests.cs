using Datapath.Engine.Net;

namespace Datapath.Tests.Engine.Net;

public unsafe class ChecksumTests
{
    [Fact]
    public void Rfc1071_numerical_example()
    {
        // RFC 1071 §3: the bytes 00 01 f2 03 f4 f5 f6 f7 sum to ddf2; the checksum is its complement.
        byte[] data = [0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7];
        Assert.Equal(0xddf2, Rfc1071.Fold(Rfc1071.Sum(0, data)));
        Assert.Equal(0x220d, Checksum.Compute(data));
    }

    [Fact]
    public void Known_ipv4_header()
    {
        // A widely used example header (192.168.0.1 -> 192.168.0.199, UDP); its checksum is b861.
        byte[] h = Convert.FromHexString("450000730000400040110000c0a80001c0a800c7");
        Assert.Equal(0xb861, Checksum.Compute(h));
        fixed (byte* p = h)
        {
            Ipv4.SetChecksum(p);
            Assert.Equal(0xb861, Rfc1071.ReadBE(h, 10));
            Assert.True(Checksum.Verify(p, h.Length));
        }
    }

    [Fact]
    public void Matches_the_bytewise_reference_for_every_length_and_alignment()
    {
        byte[] data = Frames.Payload(200, 42);
        for (int offset = 0; offset < 8; offset++)
            for (int length = 0; length <= 150; length++)
                Assert.Equal(Rfc1071.Checksum(data.AsSpan(offset, length)), Checksum.Compute(data.AsSpan(offset, length)));
    }

    [Fact]
    public void Carries_out_of_the_tail_are_not_lost()
    {
        // All-ones data drives the 64-bit accumulator to its top before the odd-sized tail is added.
        for (int length = 1; length <= 40; length++)
        {
            byte[] ones = Enumerable.Repeat((byte)0xFF, length).ToArray();
            Assert.Equal(Rfc1071.Checksum(ones), Checksum.Compute(ones));
        }
    }

    [Fact]
    public void Verify_accepts_data_carrying_its_checksum_and_rejects_a_flipped_bit()
    {
        byte[] data = Frames.Payload(33, 7);
        data[4] = 0; data[5] = 0;
        ushort c = Checksum.Compute(data);
        data[4] = (byte)(c >> 8); data[5] = (byte)c;
        fixed (byte* p = data)
        {
            Assert.True(Checksum.Verify(p, data.Length));
            data[20] ^= 0x10;
            Assert.False(Checksum.Verify(p, data.Length));
        }
    }

    [Fact]
    public void Incremental_update_equals_recomputing()
    {
        // RFC 1624: change one 16-bit word and update the checksum without re-reading the data.
        var rng = new Random(3);
        for (int trial = 0; trial < 1000; trial++)
        {
            byte[] data = Frames.Payload(20, trial);
            ushort before = Checksum.Compute(data);
            ushort oldWord = Rfc1071.ReadBE(data, 8);
            ushort newWord = (ushort)rng.Next(0x10000);
            data[8] = (byte)(newWord >> 8); data[9] = (byte)newWord;
            Assert.Equal(Rfc1071.Checksum(data), Checksum.Update(before, oldWord, newWord));
        }
    }

    [Fact]
    public void Udp_and_tcp_checksums_include_the_pseudo_header()
    {
        byte[] udp = Frames.Udp(Frames.HostIp, Frames.TargetIp, 53, 5353, Frames.Payload(27, 9));
        byte[] tcp = Frames.Tcp(Frames.HostIp, Frames.TargetIp, 80, 40000, Frames.Payload(101, 10));
        byte[] ipUdp = Frames.Ipv4(17, Frames.HostIp, Frames.TargetIp, udp);
        byte[] ipTcp = Frames.Ipv4(6, Frames.HostIp, Frames.TargetIp, tcp);
        fixed (byte* u = ipUdp)
        fixed (byte* t = ipTcp)
        {
            Assert.True(Checksum.VerifyIpv4L4(u, u + 20, udp.Length, Ipv4.ProtocolUdp));
            Assert.True(Checksum.VerifyIpv4L4(t, t + 20, tcp.Length, Ipv4.ProtocolTcp));
            ushort expected = Rfc1071.ReadBE(ipUdp, 26);
            Udp.SetChecksum(u, u + 20, udp.Length);
            Assert.Equal(expected, Rfc1071.ReadBE(ipUdp, 26));
            expected = Rfc1071.ReadBE(ipTcp, 36);
            Tcp.SetChecksum(t, t + 20, tcp.Length);
            Assert.Equal(expected, Rfc1071.ReadBE(ipTcp, 36));
        }
    }
}
