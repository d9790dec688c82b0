namespace Datapath.Drivers.VirtioPci;

/// <summary>
/// struct virtio_pci_common_cfg (virtio 1.2 §4.1.4.3) over its mapping in a BAR. All fields are little
/// endian; every access is volatile (it is device memory). Control plane only.
/// </summary>
public sealed unsafe class VirtioPciCommonConfig(byte* b)
{
    public const int DeviceFeatureSelect = 0x00, DeviceFeature = 0x04, DriverFeatureSelect = 0x08, DriverFeature = 0x0c;
    public const int ConfigMsixVector = 0x10, NumQueues = 0x12, DeviceStatus = 0x14, ConfigGeneration = 0x15;
    public const int QueueSelect = 0x16, QueueSize = 0x18, QueueMsixVector = 0x1a, QueueEnable = 0x1c, QueueNotifyOff = 0x1e;
    public const int QueueDesc = 0x20, QueueDriver = 0x28, QueueDevice = 0x30;
    /// <summary>Bytes up to queue_device included: what a device must expose (queue_notify_data/queue_reset are optional).</summary>
    public const int Size = 0x38;
    /// <summary>VIRTIO_MSI_NO_VECTOR (§4.1.4.3): no interrupt; we poll.</summary>
    public const ushort NoVector = 0xffff;

    public byte Read8(int off) => Volatile.Read(ref b[off]);
    public ushort Read16(int off) => Volatile.Read(ref *(ushort*)(b + off));
    public uint Read32(int off) => Volatile.Read(ref *(uint*)(b + off));
    public void Write8(int off, byte v) => Volatile.Write(ref b[off], v);
    public void Write16(int off, ushort v) => Volatile.Write(ref *(ushort*)(b + off), v);
    public void Write32(int off, uint v) => Volatile.Write(ref *(uint*)(b + off), v);

    /// <summary>64-bit fields as two 32-bit writes, low then high (§4.1.3.1: drivers may split them).</summary>
    public void Write64(int off, ulong v)
    {
        Write32(off, (uint)v);
        Write32(off + 4, (uint)(v >> 32));
    }

    public ulong ReadDeviceFeatures()
    {
        Write32(DeviceFeatureSelect, 0);
        ulong lo = Read32(DeviceFeature);
        Write32(DeviceFeatureSelect, 1);
        return lo | (ulong)Read32(DeviceFeature) << 32;
    }

    public void WriteDriverFeatures(ulong features)
    {
        Write32(DriverFeatureSelect, 0);
        Write32(DriverFeature, (uint)features);
        Write32(DriverFeatureSelect, 1);
        Write32(DriverFeature, (uint)(features >> 32));
    }

    public byte Status
    {
        get => Read8(DeviceStatus);
        set => Write8(DeviceStatus, value);
    }
}
