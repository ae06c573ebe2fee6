"""The generator's oracle (`demo.generator.oracle`): `GeneratorOracle`, the true utility of
every (deal at a stage, asset) of a generated world, and `oracle_for(workspace)`, the oracle of
the data the demo generator wrote into a workspace (None for real logs).

It implements `recommender.Oracle`, so training and evaluation rank by the truth and score
every model against it, without the engine knowing the generator exists.
"""

from demo.generator.oracle import GeneratorOracle, oracle_for

__all__ = ["GeneratorOracle", "oracle_for"]
