namespace Datapath.Engine.Packets;

/// <summary>Offload metadata carried with a packet (DPDK's RTE_MBUF_F_*).</summary>
[Flags]
public enum OffloadFlags : ulong
{
    None = 0,
    /// <summary>Rx: the L4 checksum was verified good (VIRTIO_NET_HDR_F_DATA_VALID).</summary>
    RxL4ChecksumGood = 1UL << 0,
    RxL4ChecksumBad = 1UL << 1,
    RxIpChecksumGood = 1UL << 2,
    RxIpChecksumBad = 1UL << 3,
    /// <summary>Rx: the L4 checksum is partial (VIRTIO_NET_HDR_F_NEEDS_CSUM): still to be completed.</summary>
    RxL4ChecksumNone = 1UL << 4,
    /// <summary>Tx: the device (or the peer) completes the L4 checksum from CsumStart/CsumOffset.</summary>
    TxL4Checksum = 1UL << 8,
    TxIpChecksum = 1UL << 9,
    TxTcpSegmentation = 1UL << 10,
}
