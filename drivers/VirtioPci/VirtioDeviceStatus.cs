namespace Datapath.Drivers.VirtioPci;

/// <summary>Device status bits (virtio 1.2 §2.1).</summary>
public static class VirtioDeviceStatus
{
    public const byte Acknowledge = 1, Driver = 2, DriverOk = 4, FeaturesOk = 8, DeviceNeedsReset = 64, Failed = 128;
}
