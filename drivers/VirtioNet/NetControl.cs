namespace Datapath.Drivers.VirtioNet;

/// <summary>Control virtqueue commands (virtio 1.2 §5.1.6.5): struct virtio_net_ctrl { u8 class; u8 command; data; u8 ack; }.</summary>
public static class NetControl
{
    public const byte Ok = 0;
    public const byte Error = 1;

    /// <summary>§5.1.6.5.5 Automatic receive steering in multiqueue mode.</summary>
    public const byte ClassMq = 4;
    /// <summary>data: le16 virtqueue_pairs, 1..max_virtqueue_pairs.</summary>
    public const byte MqVqPairsSet = 0;
    public const int MqVqPairsMin = 1;
    public const int MqVqPairsMax = 0x8000;
}
