"""hopdyn: dynamical-systems analysis of Hopfield networks."""
