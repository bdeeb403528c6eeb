"""Weight-sharing supernet over the chain space: elastic modules, sampling rules, one training loop."""
