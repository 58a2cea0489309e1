print("vecdb")
