using Interop.Fhir.Storage;

namespace Interop.Tests.Audit;

/// <summary>
/// The write lanes of the access log's chain: each concurrent write of an instance takes a lane no other write of
/// the instance holds (a lane's head row stays locked until its transaction commits), until all are taken.
/// Runs alone (no other test writes meanwhile), so the pool's state is this test's.
/// </summary>
[Collection(nameof(WriteLaneTests))]
public sealed class WriteLaneTests
{
    [CollectionDefinition(nameof(WriteLaneTests), DisableParallelization = true)]
    public sealed class Alone;

    [Fact]
    public void Concurrent_writes_of_one_instance_hold_different_lanes_until_all_are_taken()
    {
        var rented = new List<short>();
        try
        {
            for (var lane = AuditRows.RentLane(); lane >= 0; lane = AuditRows.RentLane()) rented.Add(lane);
            Assert.Equal(AuditRows.WriteLanes, rented.Count); // every lane is free between writes
            Assert.Equal(rented.Count, rented.Distinct().Count());
            Assert.All(rented, l => Assert.InRange(l, 0, AuditRows.WriteLanes - 1));

            // All taken: a write shares one (and waits for its commit), still a write lane.
            var shared = AuditRows.RentLane();
            Assert.True(shared < 0);
            Assert.InRange(AuditRows.LaneOf(shared), 0, AuditRows.WriteLanes - 1);
            AuditRows.ReturnLane(shared); // not kept: the pool gets back only what it handed out

            AuditRows.ReturnLane(rented[^1]);
            Assert.Equal(rented[^1], AuditRows.RentLane()); // a lane given back is the next one handed out
        }
        finally
        {
            foreach (var lane in rented) AuditRows.ReturnLane(lane);
        }
    }
}
