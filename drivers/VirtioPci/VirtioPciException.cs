namespace Datapath.Drivers.VirtioPci;

/// <summary>The device or its config space is not what virtio 1.2 §4.1 promises; the message says what.</summary>
public sealed class VirtioPciException(string message) : Exception(message);
