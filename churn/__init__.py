"""Churn risk, predicted and explained (docs/churn-risk.md): features per customer from the
product's own history, a logistic model trained offline on a time split of the outcomes, its
held-out accuracy and calibration, and each customer's and account's risk with its main reasons."""
