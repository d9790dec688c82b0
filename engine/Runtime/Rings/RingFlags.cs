namespace Datapath.Engine.Rings;

/// <summary>Chosen at creation: single or multi producer, single or multi consumer.</summary>
[Flags]
public enum RingFlags
{
    /// <summary>Multi-producer, multi-consumer.</summary>
    None = 0,
    /// <summary>Only one thread ever enqueues.</summary>
    SingleProducer = 1,
    /// <summary>Only one thread ever dequeues.</summary>
    SingleConsumer = 2,
    SingleProducerSingleConsumer = SingleProducer | SingleConsumer,
}
